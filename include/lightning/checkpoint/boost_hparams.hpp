#pragma once
// Hyperparameters structs that serialize themselves with Boost (a
// `serialize(ar, version)` member or a free `serialize(ar, h, version)`):
// stored through Boost.Serialization as they are, so their own
// BOOST_CLASS_VERSION decides what an old archive holds. Opt-in: include it
// where such a struct is used; Hana-reflected structs do not need it.
//
// Boost's reader is not bounded against hostile bytes (a string length in
// the archive is allocated before it is read): keep such checkpoints to
// files you trust.
#include <boost/archive/archive_exception.hpp>
#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/text_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/version.hpp>

#include <sstream>
#include <string>

#include "hparams.hpp"

namespace lightning::checkpoint {

template <class H>
concept BoostSerializable = requires(boost::archive::text_oarchive& ar, H& h, const unsigned v) {
  h.serialize(ar, v);
} || requires(boost::archive::text_oarchive& ar, H& h, const unsigned v) { serialize(ar, h, v); };

template <class H>
  requires BoostSerializable<H>
struct HParamsCodec<H> {
  static std::string save(const H& h) {
    std::ostringstream out;
    {
      boost::archive::text_oarchive ar(out);
      ar << h;
    }
    return out.str();
  }
  static H load(const std::string& text, H h) {
    try {
      std::istringstream in(text);
      boost::archive::text_iarchive ar(in);
      ar >> h;
    } catch (const boost::archive::archive_exception& e) {
      throw CheckpointError(std::string("lightning: checkpoint: the hyperparameters archive is corrupt: ") + e.what());
    }
    return h;
  }
};

}  // namespace lightning::checkpoint
