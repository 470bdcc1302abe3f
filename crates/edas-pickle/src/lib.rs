//! `edas-pickle`: reads Python pickles (protocols 0-5) of plain data and
//! NumPy arrays, without Python.
//!
//! - [`read`] turns one pickle into a [`Value`]: `None`, bools, ints,
//!   floats, strings, bytes, lists, tuples, sets, dicts and
//!   `collections.OrderedDict`; a NumPy scalar of a float or int dtype
//!   becomes its number, and any other class instance a
//!   [`Value::Object`] with its arguments and state.
//! - [`NdArray::from_value`] reads a NumPy array out of such an object, as
//!   NumPy pickles them (`_reconstruct` then `BUILD`, or protocol 5's
//!   `_frombuffer`).
//!
//! Who uses it: `edas-benchmark` (NAS-Bench-201's `.pth` and NATS-Bench's
//! pickles) and `edas-data` (the downsampled ImageNet batches of
//! ImageNet16-120). Why not a crate: the module documentation of [`read`].
//!
//! ```
//! // pickle.dumps({'labels': [1, 2]}, protocol=2)
//! let bytes = b"\x80\x02}q\x00X\x06\x00\x00\x00labelsq\x01]q\x02(K\x01K\x02es.";
//! let (value, _) = edas_pickle::read(bytes)?;
//! let labels: Vec<i64> = value.get("labels").and_then(|v| v.as_seq()).unwrap_or_default()
//!     .iter().filter_map(|v| v.as_i64()).collect();
//! assert_eq!(labels, [1, 2]);
//! # Ok::<(), edas_pickle::PickleError>(())
//! ```

pub mod numpy;
pub mod read;

pub use numpy::{NdArray, NdArrayError};
pub use read::{MAX_VALUES, PickleError, Value, read};
