//! Names with one spelling: an enum whose `FromStr`, `Display` and serde forms
//! all come from one table, so the command line, the TOML configs and the
//! JSON reports cannot drift apart.

/// Defines a fieldless enum with `ALL`, `NAMES`, `name()`, `FromStr`,
/// `Display`, `Serialize` and `Deserialize` from one list of spellings.
/// `$what` names the kind of value in errors ("unknown metric `x`; use …").
macro_rules! spelt_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order of the definition.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// Every spelling, in the order of the definition.
            pub const NAMES: &'static [&'static str] = &[$($text,)+];

            /// The one spelling of this value.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.name() == text)
                    .ok_or_else(|| {
                        format!("unknown {} `{text}`; use {}", $what, Self::NAMES.join(", "))
                    })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use spelt_enum;
