#pragma once
// LightningCLI (opt-in: lightning.hpp does not include it):
// `L::cli::LightningCLI<Model, DataModule, Policies...>(argc, argv)` gives a
// program fit/validate/test/predict subcommands, YAML configs, dotted
// overrides, --print_config, --help and a saved config.yaml.
#include "cli/lightning_cli.hpp"
