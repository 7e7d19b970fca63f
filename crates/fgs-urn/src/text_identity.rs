//! The traits of a type that is its canonical text: `FunctionUrn` and `FunctionRef` keep
//! the text with spans that are a function of it, so the text alone decides display,
//! equality, hashing and order.

/// Implements `AsRef<str>`, `Display`, `Debug` (`Name("text")`), `PartialEq`, `Eq`,
/// `Hash`, `PartialOrd` and `Ord` for `$ty`, by its `text` field.
macro_rules! text_identity {
    ($ty:ident) => {
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.text
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.text)
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($ty)).field(&self.text).finish()
            }
        }

        // Comparing the spans too would only cost time: they follow from the text.
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.text == other.text
            }
        }

        impl Eq for $ty {}

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.text.hash(state);
            }
        }

        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.text.cmp(&other.text)
            }
        }
    };
}

pub(crate) use text_identity;
