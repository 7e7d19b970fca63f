//! `serde` support: a `FunctionUrn` is (de)serialized as its URN string and a
//! `FunctionRef` as its `package/name[:qualifier]` text; deserialization validates them
//! like [`FunctionUrn::parse`] and [`FunctionRef::parse`].

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::{FunctionRef, FunctionUrn};

impl Serialize for FunctionUrn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FunctionUrn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(UrnVisitor)
    }
}

struct UrnVisitor;

impl Visitor<'_> for UrnVisitor {
    type Value = FunctionUrn;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a FunctionGraph function URN string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<FunctionUrn, E> {
        FunctionUrn::parse(value).map_err(E::custom)
    }

    // An owned string is kept as the URN text instead of being copied.
    fn visit_string<E: de::Error>(self, value: String) -> Result<FunctionUrn, E> {
        FunctionUrn::try_from(value).map_err(E::custom)
    }
}

impl Serialize for FunctionRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FunctionRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(RefVisitor)
    }
}

struct RefVisitor;

impl Visitor<'_> for RefVisitor {
    type Value = FunctionRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a FunctionGraph function reference, \"package/name[:version|:!alias]\"")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<FunctionRef, E> {
        FunctionRef::parse(value).map_err(E::custom)
    }
}
