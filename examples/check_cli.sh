#!/bin/sh
# Runs examples/cli as a user would: a config file plus overrides, the
# --print_config round trip, the errors (exit status 2, the closest key named)
# and Lightning's refusal to overwrite a saved config.yaml.
# usage: check_cli.sh path/to/cli scratch_dir
set -u
cli=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")  # absolute: the script changes directory
dir=$2
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

cat > c.yaml <<'YAML'
trainer:
  max_epochs: 5
  limit_train_batches: 20
  limit_val_batches: 2
  log_every_n_steps: 10
  callbacks:
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint
      init_args:
        monitor: val_loss
model:
  hidden: 32
seed_everything: 42
YAML

# --print_config is a config: read back, it prints the same.
"$cli" fit --config c.yaml --optimizer=Adam --lr_scheduler=StepLR --lr_scheduler.step_size=1 --print_config > a.yaml || fail "print_config"
"$cli" fit --config a.yaml --print_config > b.yaml || fail "print_config of a printed config"
cmp a.yaml b.yaml || fail "--print_config does not round-trip"
grep -q '^    step_size: 1$' a.yaml || fail "lr_scheduler not printed"

# Errors: exit status 2 before anything runs, naming what to fix.
"$cli" fit --config c.yaml --trainer.max_epoch=2 --optimizer=SGD 2> err.txt; rc=$?
[ $rc -eq 2 ] || fail "unknown key: exit $rc"
grep -q "unknown key 'trainer.max_epoch': did you mean 'trainer.max_epochs'?" err.txt || fail "unknown key message: $(cat err.txt)"
"$cli" fit --trainer.max_epochs=two --optimizer=SGD 2> err.txt; rc=$?
[ $rc -eq 2 ] || fail "bad type: exit $rc"
grep -q "trainer.max_epochs: expected Optional\[int\], got 'two'" err.txt || fail "bad type message: $(cat err.txt)"
"$cli" fit --optimizer=SGD --lr_scheduler=CosineAnnealingLR 2> err.txt; rc=$?
[ $rc -eq 2 ] || fail "missing value: exit $rc"
grep -q "missing required value: lr_scheduler.T_max" err.txt || fail "missing value message: $(cat err.txt)"
[ ! -d lightning_logs ] || fail "an error run created lightning_logs"

# The issue's run: exactly these settings, visible in hparams.yaml, config.yaml and the LR monitor's column.
"$cli" fit --config c.yaml --trainer.max_epochs=2 --model.lr=0.01 --optimizer=SGD > fit.txt 2>&1 || { cat fit.txt; fail "fit"; }
v=lightning_logs/version_0
grep -q '^lr: 0.01$' $v/hparams.yaml || fail "hparams.yaml: $(cat $v/hparams.yaml)"
grep -q '^  max_epochs: 2$' $v/config.yaml || fail "config.yaml max_epochs"
grep -q 'class_path: torch.optim.SGD' $v/config.yaml || fail "config.yaml optimizer"
head -1 $v/metrics.csv | grep -q 'lr-SGD' || fail "no lr-SGD column"
grep -q ',0.01,' $v/metrics.csv || fail "lr-SGD is not 0.01"
ls $v/checkpoints | grep -q 'epoch=1-step=40.ckpt' || fail "checkpoints: $(ls $v/checkpoints)"

# SaveConfigCallback: an existing config.yaml is not overwritten.
"$cli" fit --config c.yaml --trainer.max_epochs=1 --optimizer=SGD --trainer.logger.CSVLogger.version=0 2> err.txt; rc=$?
[ $rc -eq 1 ] || fail "overwrite: exit $rc"
grep -q "SaveConfigCallback expected ./lightning_logs/version_0/config.yaml to NOT exist" err.txt || fail "overwrite message: $(cat err.txt)"

# test with the trained weights.
"$cli" test --config $v/config.yaml --ckpt_path=$v/checkpoints/epoch=1-step=40.ckpt > test.txt 2>&1 || { cat test.txt; fail "test"; }
echo "ok"
