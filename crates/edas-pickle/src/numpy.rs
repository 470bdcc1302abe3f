//! NumPy arrays in a pickle: their shape, dtype and bytes.
//!
//! NumPy pickles an `ndarray` in one of two forms (`numpy/_core/src/multiarray/methods.c`,
//! `array_reduce` and `array_reduce_ex`; facts, not code):
//!
//! - protocols 0-4: `numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')`,
//!   then `BUILD` with the state `(1, shape, dtype, is_fortran, raw_bytes)`;
//! - protocol 5: `numpy.core.numeric._frombuffer(buffer, dtype, shape, order)`.
//!
//! The dtype is itself pickled as `numpy.dtype('u1', False, True)` with the
//! state `(3, '|', None, None, None, -1, -1, 0)`, whose second item is the
//! byte order (`<` little, `>` big, `|` not applicable). NumPy 2 writes the
//! module as `numpy._core`; both spellings are read.

use thiserror::Error;

use crate::read::Value;

/// A NumPy array read from a pickle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NdArray {
    /// The shape (empty for a 0-d array).
    pub shape: Vec<usize>,
    /// The dtype's kind and item size, as NumPy's `dtype.str` without the
    /// byte order: `u1`, `i8`, `f4`, ...
    pub dtype: String,
    /// Whether items of more than one byte are stored big-endian.
    pub big_endian: bool,
    /// Whether the bytes are in column-major (Fortran) order.
    pub fortran_order: bool,
    /// The raw bytes, `len() * item_size` of them.
    pub data: Vec<u8>,
}

/// Why a value is not a NumPy array this reader understands.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NdArrayError {
    /// The value is something else.
    #[error("expected a NumPy array, found {found}")]
    NotAnArray {
        /// What the value is.
        found: String,
    },
    /// The pickled array's parts are not NumPy's.
    #[error("a NumPy array whose pickled form is not NumPy's: {0}")]
    Malformed(String),
    /// The bytes do not cover the shape.
    #[error(
        "a NumPy array of shape {shape:?} and dtype {dtype} needs {expected} bytes, found {found}"
    )]
    Size {
        /// The shape.
        shape: Vec<usize>,
        /// The dtype.
        dtype: String,
        /// Bytes the shape needs.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The array has another dtype than the one asked for.
    #[error("expected a NumPy array of dtype {expected}, found {found}")]
    Dtype {
        /// The dtype asked for.
        expected: &'static str,
        /// The array's.
        found: String,
    },
}

fn malformed<T>(what: &str) -> Result<T, NdArrayError> {
    Err(NdArrayError::Malformed(what.to_owned()))
}

/// Whether `class` is `numpy.core.<module>.<name>` or its NumPy 2 spelling
/// `numpy._core.<module>.<name>`.
fn is_numpy(class: &str, module: &str, name: &str) -> bool {
    ["numpy.core.", "numpy._core."].iter().any(|prefix| {
        class
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(module))
            .and_then(|rest| rest.strip_prefix('.'))
            == Some(name)
    })
}

/// The bytes of a pickled `bytes`, `bytearray` or Python 2 `str`.
fn raw_bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bytes(b) => Some(b),
        // A protocol-0 Python 2 `str` that happened to be UTF-8.
        Value::Str(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn usize_of(v: &Value) -> Option<usize> {
    match v {
        Value::Int(i) => usize::try_from(*i).ok(),
        _ => None,
    }
}

fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int(0) => Some(false),
        Value::Int(1) => Some(true),
        _ => None,
    }
}

fn shape_of(v: &Value) -> Result<Vec<usize>, NdArrayError> {
    let Some(items) = v.as_seq() else {
        return malformed("its shape is not a tuple");
    };
    items
        .iter()
        .map(|d| {
            usize_of(d)
                .ok_or_else(|| NdArrayError::Malformed("a negative or non-int dimension".into()))
        })
        .collect()
}

/// `(dtype string, big-endian)` of a pickled `numpy.dtype`.
fn dtype_of(v: &Value) -> Result<(String, bool), NdArrayError> {
    let Value::Object { class, state } = v else {
        return malformed("its dtype is not a numpy.dtype");
    };
    if class != "numpy.dtype" {
        return malformed("its dtype is not a numpy.dtype");
    }
    let Some(Value::Str(kind)) = state.first() else {
        return malformed("its dtype has no type string");
    };
    // The BUILD state, after the three constructor arguments.
    let order = state
        .get(3)
        .and_then(Value::as_seq)
        .and_then(|s| s.get(1))
        .and_then(Value::as_str)
        .unwrap_or("|");
    Ok((kind.clone(), order == ">" && item_size(kind) > 1))
}

/// Bytes per item of dtype `kind` (`u1` → 1, `f8` → 8); 0 when unknown.
fn item_size(kind: &str) -> usize {
    kind.trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .unwrap_or(0)
}

impl NdArray {
    /// Reads the array a pickle's [`Value`] holds.
    pub fn from_value(v: &Value) -> Result<NdArray, NdArrayError> {
        let Value::Object { class, state } = v else {
            return Err(NdArrayError::NotAnArray { found: describe(v) });
        };
        // The parts of either form: shape, dtype, Fortran order, bytes.
        let (shape, dtype, fortran_order, data) = if is_numpy(class, "multiarray", "_reconstruct") {
            // (ndarray, (0,), b'b') then the BUILD state.
            let Some(Value::Tuple(build)) = state.get(3) else {
                return malformed("no BUILD state after _reconstruct");
            };
            let [_version, shape, dtype, fortran, data] = build.as_slice() else {
                return malformed("its BUILD state is not (version, shape, dtype, fortran, data)");
            };
            let Some(fortran) = flag(fortran) else {
                return malformed("its order flag is not a bool");
            };
            (shape, dtype, fortran, data)
        } else if is_numpy(class, "numeric", "_frombuffer") {
            let [data, dtype, shape, order] = state.as_slice() else {
                return malformed("_frombuffer without (buffer, dtype, shape, order)");
            };
            (shape, dtype, order.as_str() == Some("F"), data)
        } else {
            return Err(NdArrayError::NotAnArray {
                found: format!("an instance of {class}"),
            });
        };
        let (dtype, big_endian) = dtype_of(dtype)?;
        let Some(data) = raw_bytes(data) else {
            return malformed("its data are not bytes (an object array?)");
        };
        let array = NdArray {
            shape: shape_of(shape)?,
            dtype,
            big_endian,
            fortran_order,
            data: data.to_vec(),
        };
        array.checked()
    }

    fn checked(self) -> Result<NdArray, NdArrayError> {
        let size = item_size(&self.dtype);
        let expected = self
            .shape
            .iter()
            .try_fold(size, |acc, &d| acc.checked_mul(d));
        if size == 0 || expected != Some(self.data.len()) {
            return Err(NdArrayError::Size {
                expected: expected.unwrap_or(usize::MAX),
                found: self.data.len(),
                shape: self.shape,
                dtype: self.dtype,
            });
        }
        Ok(self)
    }

    /// Number of items (the product of the shape).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items of a `uint8` array in row-major order.
    pub fn into_u8(self) -> Result<Vec<u8>, NdArrayError> {
        if self.dtype != "u1" {
            return Err(NdArrayError::Dtype {
                expected: "u1 (uint8)",
                found: self.dtype,
            });
        }
        if !self.fortran_order || self.shape.len() < 2 {
            return Ok(self.data);
        }
        // Column-major to row-major: the item at row-major offset `i` is at
        // the column-major offset of the same index.
        let mut out = vec![0u8; self.data.len()];
        let mut index = vec![0usize; self.shape.len()];
        for slot in &mut out {
            let mut offset = 0;
            let mut stride = 1;
            for (i, &d) in index.iter().zip(&self.shape) {
                offset += i * stride;
                stride *= d;
            }
            *slot = self.data[offset];
            for (i, &d) in index.iter_mut().zip(&self.shape).rev() {
                *i += 1;
                if *i < d {
                    break;
                }
                *i = 0;
            }
        }
        Ok(out)
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(_) => "a bool".into(),
        Value::Int(_) => "an int".into(),
        Value::Float(_) => "a float".into(),
        Value::Str(_) => "a str".into(),
        Value::Bytes(_) => "bytes".into(),
        Value::List(_) => "a list".into(),
        Value::Tuple(_) => "a tuple".into(),
        Value::Dict(_) => "a dict".into(),
        Value::Object { class, .. } => format!("an instance of {class}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::read::read;

    /// `pickle.dumps(np.arange(6, dtype=np.uint8).reshape(2, 3), protocol=2)`
    /// (NumPy 2.4).
    const P2: &[u8] = b"\x80\x02cnumpy._core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02c_codecs\nencode\nq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07\x87q\x08Rq\x09(K\x01K\x02K\x03\x86q\x0acnumpy\ndtype\nq\x0bX\x02\x00\x00\x00u1q\x0c\x89\x88\x87q\x0dRq\x0e(K\x03X\x01\x00\x00\x00|q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x10b\x89h\x03X\x06\x00\x00\x00\x00\x01\x02\x03\x04\x05q\x11h\x05\x86q\x12Rq\x13tq\x14b.";

    #[test]
    fn a_protocol_2_uint8_array_reads_with_its_shape() {
        let (v, _) = read(P2).unwrap();
        let a = NdArray::from_value(&v).unwrap();
        assert_eq!(a.shape, [2, 3]);
        assert_eq!(a.dtype, "u1");
        assert!(!a.fortran_order && !a.big_endian);
        assert_eq!(a.len(), 6);
        assert_eq!(a.into_u8().unwrap(), [0, 1, 2, 3, 4, 5]);
    }

    /// The same array with `protocol=5` (NumPy's `_frombuffer` form).
    const P5: &[u8] = b"\x80\x05\x95|\x00\x00\x00\x00\x00\x00\x00\x8c\x13numpy._core.numeric\x94\x8c\x0b_frombuffer\x94\x93\x94(\x96\x06\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02u1\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bK\x02K\x03\x86\x94\x8c\x01C\x94t\x94R\x94.";

    #[test]
    fn a_protocol_5_array_reads_the_same() {
        let (v, _) = read(P5).unwrap();
        let a = NdArray::from_value(&v).unwrap();
        assert_eq!(a.shape, [2, 3]);
        assert_eq!(a.into_u8().unwrap(), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn fortran_order_is_turned_to_row_major() {
        let a = NdArray {
            shape: vec![2, 3],
            dtype: "u1".into(),
            big_endian: false,
            fortran_order: true,
            // Column-major [[0, 1, 2], [3, 4, 5]].
            data: vec![0, 3, 1, 4, 2, 5],
        };
        assert_eq!(a.into_u8().unwrap(), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn other_values_and_short_data_are_refused() {
        let e = NdArray::from_value(&Value::Int(3)).unwrap_err();
        assert_eq!(e.to_string(), "expected a NumPy array, found an int");
        // Cut the 6 data bytes to 5 (and their length prefix).
        let mut p = P2.to_vec();
        let at = p
            .windows(7)
            .position(|w| w == b"h\x03X\x06\x00\x00\x00")
            .unwrap()
            + 3;
        p[at] = 5;
        p.remove(at + 4);
        let (v, _) = read(&p).unwrap();
        let e = NdArray::from_value(&v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a NumPy array of shape [2, 3] and dtype u1 needs 6 bytes, found 5"
        );
        let a = NdArray {
            shape: vec![1],
            dtype: "f8".into(),
            big_endian: false,
            fortran_order: false,
            data: vec![0; 8],
        };
        assert_eq!(
            a.into_u8().unwrap_err().to_string(),
            "expected a NumPy array of dtype u1 (uint8), found f8"
        );
    }
}
