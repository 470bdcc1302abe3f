//! Published genotypes, as constants and as the DARTS texts they were
//! published in (texts from the `genotypes.py` of DARTS', PC-DARTS' and
//! P-DARTS' public code; tests parse each text and compare it with its
//! constant).

use crate::genotype::{Cell, Concat, Genotype, NodeInput};
use crate::primitive::Primitive::{self, *};

const fn cell(e: [(Primitive, usize); 8]) -> Cell {
    const fn ni(e: (Primitive, usize)) -> NodeInput {
        NodeInput::new(e.0, e.1)
    }
    Cell::from_parts(
        [
            [ni(e[0]), ni(e[1])],
            [ni(e[2]), ni(e[3])],
            [ni(e[4]), ni(e[5])],
            [ni(e[6]), ni(e[7])],
        ],
        Concat::ALL,
    )
}

/// DARTS (first order) on CIFAR-10, Liu et al. 2019, `genotypes.py` of the
/// DARTS repository.
pub const DARTS_V1: Genotype = Genotype {
    normal: cell([
        (SepConv3x3, 1),
        (SepConv3x3, 0),
        (SkipConnect, 0),
        (SepConv3x3, 1),
        (SkipConnect, 0),
        (SepConv3x3, 1),
        (SepConv3x3, 0),
        (SkipConnect, 2),
    ]),
    reduce: cell([
        (MaxPool3x3, 0),
        (MaxPool3x3, 1),
        (SkipConnect, 2),
        (MaxPool3x3, 0),
        (MaxPool3x3, 0),
        (SkipConnect, 2),
        (SkipConnect, 2),
        (AvgPool3x3, 0),
    ]),
};

/// DARTS (second order) on CIFAR-10, Liu et al. 2019: the cell of the
/// published 2.76% / 3.3M result. DARTS' `genotypes.py` also calls it `DARTS`.
pub const DARTS_V2: Genotype = Genotype {
    normal: cell([
        (SepConv3x3, 0),
        (SepConv3x3, 1),
        (SepConv3x3, 0),
        (SepConv3x3, 1),
        (SepConv3x3, 1),
        (SkipConnect, 0),
        (SkipConnect, 0),
        (DilConv3x3, 2),
    ]),
    reduce: cell([
        (MaxPool3x3, 0),
        (MaxPool3x3, 1),
        (SkipConnect, 2),
        (MaxPool3x3, 1),
        (MaxPool3x3, 0),
        (SkipConnect, 2),
        (SkipConnect, 2),
        (MaxPool3x3, 1),
    ]),
};

/// PC-DARTS on CIFAR-10, Xu et al. 2020.
pub const PC_DARTS_CIFAR: Genotype = Genotype {
    normal: cell([
        (SepConv3x3, 1),
        (SkipConnect, 0),
        (SepConv3x3, 0),
        (DilConv3x3, 1),
        (SepConv5x5, 0),
        (SepConv3x3, 1),
        (AvgPool3x3, 0),
        (DilConv3x3, 1),
    ]),
    reduce: cell([
        (SepConv5x5, 1),
        (MaxPool3x3, 0),
        (SepConv5x5, 1),
        (SepConv5x5, 2),
        (SepConv3x3, 0),
        (SepConv3x3, 3),
        (SepConv3x3, 1),
        (SepConv3x3, 2),
    ]),
};

/// P-DARTS on CIFAR-10, Chen et al. 2019.
pub const PDARTS: Genotype = Genotype {
    normal: cell([
        (SkipConnect, 0),
        (DilConv3x3, 1),
        (SkipConnect, 0),
        (SepConv3x3, 1),
        (SepConv3x3, 1),
        (SepConv3x3, 3),
        (SepConv3x3, 0),
        (DilConv5x5, 4),
    ]),
    reduce: cell([
        (AvgPool3x3, 0),
        (SepConv5x5, 1),
        (SepConv3x3, 0),
        (DilConv5x5, 2),
        (MaxPool3x3, 0),
        (DilConv3x3, 1),
        (DilConv3x3, 1),
        (DilConv5x5, 3),
    ]),
};

/// A published genotype with its name, source and the text it was published in.
#[derive(Clone, Copy, Debug)]
pub struct Published {
    /// The name its authors gave it (`DARTS_V2`).
    pub name: &'static str,
    /// The genotype.
    pub genotype: Genotype,
    /// Paper and repository.
    pub source: &'static str,
    /// The DARTS text as published.
    pub text: &'static str,
}

/// Every published genotype this crate knows, in the order of `reference.md`.
pub const ALL: [Published; 4] = [
    Published {
        name: "DARTS_V1",
        genotype: DARTS_V1,
        source: "Liu, Simonyan, Yang: DARTS (ICLR 2019), first order; quark0/darts genotypes.py",
        text: "DARTS_V1 = Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])",
    },
    Published {
        name: "DARTS_V2",
        genotype: DARTS_V2,
        source: "Liu, Simonyan, Yang: DARTS (ICLR 2019), second order; quark0/darts genotypes.py",
        text: "DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
    },
    Published {
        name: "PC_DARTS_cifar",
        genotype: PC_DARTS_CIFAR,
        source: "Xu et al.: PC-DARTS (ICLR 2020); yuhuixu1993/PC-DARTS genotypes.py",
        text: "PC_DARTS_cifar = Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))",
    },
    Published {
        name: "PDARTS",
        genotype: PDARTS,
        source: "Chen, Xie, Wu, Tian: P-DARTS (ICCV 2019); chenxin061/pdarts genotypes.py",
        text: "PDARTS = Genotype(normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 0), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)], reduce_concat=range(2, 6))",
    },
];

/// The published genotype called `name` (case-insensitive; `DARTS` is
/// `DARTS_V2`, as in DARTS' repository).
pub fn by_name(name: &str) -> Option<&'static Published> {
    let name = if name.eq_ignore_ascii_case("DARTS") {
        "DARTS_V2"
    } else {
        name
    };
    ALL.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The names of all published genotypes.
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|p| p.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::darts_text::{parse_darts_named, to_darts_named};

    #[test]
    fn constants_match_their_published_texts() {
        for p in &ALL {
            let (name, parsed) = parse_darts_named(p.text).unwrap();
            assert_eq!(name.as_deref(), Some(p.name));
            assert_eq!(parsed, p.genotype, "{}", p.name);
            // Same order, not only the same network.
            assert_eq!(format!("{parsed:?}"), format!("{:?}", p.genotype));
            // The constants pass the same checks as parsed input.
            let edges: Vec<_> = p.genotype.normal.edges().collect();
            assert!(crate::Cell::new(&edges, &[2, 3, 4, 5]).is_ok());
        }
        // The list-form texts are written back byte for byte.
        assert_eq!(to_darts_named(&DARTS_V2, "DARTS_V2"), ALL[1].text);
        assert_eq!(to_darts_named(&DARTS_V1, "DARTS_V1"), ALL[0].text);
    }

    #[test]
    fn lookup_by_name() {
        assert_eq!(by_name("darts_v2").unwrap().genotype, DARTS_V2);
        assert_eq!(by_name("DARTS").unwrap().name, "DARTS_V2");
        assert_eq!(by_name("pc_darts_CIFAR").unwrap().genotype, PC_DARTS_CIFAR);
        assert!(by_name("ENAS").is_none());
        assert_eq!(names().count(), 4);
    }
}
