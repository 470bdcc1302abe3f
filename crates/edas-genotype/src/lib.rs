//! `edas-genotype`: the DARTS cell search space and its genotypes, with no
//! deep-learning dependency, for tools that read, compare, convert and draw
//! cells.
//!
//! - [`Primitive`], [`CellKind`] and the edge indexing of the space ([`space`]);
//! - [`Genotype`] and [`Cell`], valid by construction;
//! - formats: DARTS' Python text ([`darts_text`]), JSON and TOML (serde), DOT
//!   ([`dot`]), with [`Format`] to pick one by name, extension or contents;
//! - the DARTS derivation rule and its inverse, the clamp ([`derive()`],
//!   [`clamp`]), which EDAS uses to hold every edge but one at 0 or 1;
//! - [`diff()`] between genotypes, the published cells ([`published`]) and
//!   uniformly sampled ones ([`random_genotype`]);
//! - search spaces as values: a named space and its op set ([`SearchSpace`]);
//! - the NAS-Bench-201 cell and its architecture string ([`nb201`]);
//! - an architecture of either space, in files that say which
//!   ([`Architecture`]).
//!
//! ```
//! use edas_genotype::{derive, published, CellKind, DeriveOptions, Format, Primitive};
//!
//! // Read a genotype as DARTS prints it.
//! let text = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), \
//!     ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), \
//!     ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), \
//!     ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), \
//!     ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))";
//! let g = Format::Darts.parse(text)?;
//! assert_eq!(g, published::DARTS_V2);
//! assert_eq!(g.cell(CellKind::Normal).op_counts()[Primitive::SepConv3x3.index()], 5);
//!
//! // The clamp and the derivation rule are inverse.
//! let [normal, reduce] = g.clamp();
//! assert_eq!(derive(&normal, &reduce, DeriveOptions::default())?, g);
//!
//! // Convert to JSON and compare with another cell.
//! let json = Format::Json.write(&g);
//! assert_eq!(Format::Json.parse(&json)?, g);
//! assert_eq!(g.diff(&published::DARTS_V1).edges_changed(), 7);
//! # Ok::<(), edas_genotype::Error>(())
//! ```

pub mod architecture;
pub mod codec;
pub mod darts_text;
pub mod derive;
pub mod diff;
pub mod dot;
pub mod error;
pub mod format;
pub mod genotype;
pub mod graphviz;
pub mod nb201;
pub mod op_set;
pub mod primitive;
pub mod published;
pub mod random;
pub mod read;
pub mod search_space;
pub mod space;
pub mod table;

pub use architecture::{Architecture, SpaceMismatch};
pub use codec::{load, parse_any, save};
pub use derive::{
    DeriveOptions, EdgeWeights, clamp, derive, derive_cell, derive_cell_in, derive_cell_of,
};
pub use diff::{Change, GenotypeDiff, diff};
pub use error::{
    ArchStringError, CellError, DeriveError, Error, GenotypeError, Location, ParseError,
    ParseErrorKind, UnknownOp,
};
pub use format::Format;
pub use genotype::{Cell, Concat, Genotype, NUM_KEPT_EDGES, NodeInput};
pub use nb201::{Nb201Cell, Nb201Op};
pub use primitive::{CellKind, NUM_OPS, Primitive};
pub use random::{random_genotype, random_genotype_in, random_genotype_of};
pub use search_space::{Derivation, OpSet, SearchSpace, SpaceError, SpaceName};
pub use space::{Edge, NUM_EDGES, NUM_NODES};

/// The crate README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
