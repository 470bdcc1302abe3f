//! The eight DARTS primitives and the two cell kinds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// One candidate operation on an edge of the DARTS cell space.
///
/// The discriminant is the op's column in the architecture variables `alpha`
/// (DARTS' `PRIMITIVES` order), so `Primitive::SepConv3x3 as usize == 4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Primitive {
    /// `none`: the zero op (an edge that contributes nothing).
    None = 0,
    /// `max_pool_3x3`: 3x3 max pooling, padding 1.
    MaxPool3x3 = 1,
    /// `avg_pool_3x3`: 3x3 average pooling, padding 1, padding not counted.
    AvgPool3x3 = 2,
    /// `skip_connect`: identity, or `FactorizedReduce` at stride 2.
    SkipConnect = 3,
    /// `sep_conv_3x3`: two stacked depthwise-separable 3x3 convolutions.
    SepConv3x3 = 4,
    /// `sep_conv_5x5`: two stacked depthwise-separable 5x5 convolutions.
    SepConv5x5 = 5,
    /// `dil_conv_3x3`: depthwise-separable 3x3 convolution, dilation 2.
    DilConv3x3 = 6,
    /// `dil_conv_5x5`: depthwise-separable 5x5 convolution, dilation 2.
    DilConv5x5 = 7,
}

/// Number of primitives (columns of `alpha`).
pub const NUM_OPS: usize = 8;

impl Primitive {
    /// All primitives in DARTS order (index = column of `alpha`).
    pub const ALL: [Primitive; NUM_OPS] = [
        Primitive::None,
        Primitive::MaxPool3x3,
        Primitive::AvgPool3x3,
        Primitive::SkipConnect,
        Primitive::SepConv3x3,
        Primitive::SepConv5x5,
        Primitive::DilConv3x3,
        Primitive::DilConv5x5,
    ];

    /// The DARTS name, as it appears in genotype texts (`"sep_conv_3x3"`).
    pub const fn name(self) -> &'static str {
        match self {
            Primitive::None => "none",
            Primitive::MaxPool3x3 => "max_pool_3x3",
            Primitive::AvgPool3x3 => "avg_pool_3x3",
            Primitive::SkipConnect => "skip_connect",
            Primitive::SepConv3x3 => "sep_conv_3x3",
            Primitive::SepConv5x5 => "sep_conv_5x5",
            Primitive::DilConv3x3 => "dil_conv_3x3",
            Primitive::DilConv5x5 => "dil_conv_5x5",
        }
    }

    /// The column of this op in the architecture variables.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The primitive at column `index`, if there is one.
    pub const fn from_index(index: usize) -> Option<Primitive> {
        if index < NUM_OPS {
            Some(Primitive::ALL[index])
        } else {
            None
        }
    }

    /// Looks a primitive up by its DARTS name (exact, case-sensitive).
    pub fn from_name(name: &str) -> Result<Primitive, UnknownOp> {
        Primitive::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| UnknownOp {
                name: name.to_owned(),
            })
    }

    /// Whether the op has trainable weights (the convolutions).
    pub const fn is_parametric(self) -> bool {
        matches!(
            self,
            Primitive::SepConv3x3
                | Primitive::SepConv5x5
                | Primitive::DilConv3x3
                | Primitive::DilConv5x5
        )
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Primitive {
    type Err = UnknownOp;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Primitive::from_name(s)
    }
}

impl Serialize for Primitive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Primitive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Primitive::from_name(&name).map_err(serde::de::Error::custom)
    }
}

/// The two kinds of cell in a DARTS network; each has its own variables and
/// its own half of a [`Genotype`](crate::Genotype).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// Keeps the spatial size and channel count.
    Normal,
    /// Halves the spatial size and doubles the channels; edges from the two
    /// input nodes have stride 2.
    Reduce,
}

impl CellKind {
    /// Both kinds, normal first (the order of DARTS' `Genotype` fields).
    pub const ALL: [CellKind; 2] = [CellKind::Normal, CellKind::Reduce];

    /// The kind of a cell that is (`true`) or is not a reduction cell.
    pub const fn of(reduction: bool) -> CellKind {
        if reduction {
            CellKind::Reduce
        } else {
            CellKind::Normal
        }
    }

    /// `"normal"` or `"reduce"`, the DARTS field names.
    pub const fn name(self) -> &'static str {
        match self {
            CellKind::Normal => "normal",
            CellKind::Reduce => "reduce",
        }
    }
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A name that is not one of the eight DARTS primitives.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("unknown op `{name}` (expected one of {})", known_ops())]
pub struct UnknownOp {
    /// The name as it was written.
    pub name: String,
}

fn known_ops() -> String {
    Primitive::ALL.map(Primitive::name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_kind_of_reduction_flag() {
        assert_eq!(CellKind::of(true), CellKind::Reduce);
        assert_eq!(CellKind::of(false), CellKind::Normal);
    }

    #[test]
    fn darts_order_and_names() {
        let names: Vec<&str> = Primitive::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(
            names,
            [
                "none",
                "max_pool_3x3",
                "avg_pool_3x3",
                "skip_connect",
                "sep_conv_3x3",
                "sep_conv_5x5",
                "dil_conv_3x3",
                "dil_conv_5x5"
            ]
        );
        for (i, p) in Primitive::ALL.into_iter().enumerate() {
            assert_eq!(p.index(), i);
            assert_eq!(Primitive::from_index(i), Some(p));
            assert_eq!(p.name().parse::<Primitive>(), Ok(p));
        }
        assert_eq!(Primitive::from_index(8), None);
    }

    #[test]
    fn unknown_op_names_itself() {
        let err = "sep_conv_7x7".parse::<Primitive>().unwrap_err();
        assert_eq!(err.name, "sep_conv_7x7");
        assert!(err.to_string().contains("dil_conv_5x5"));
    }
}
