//! A reader of Python pickles (protocols 0-5) of plain data: `None`, bools,
//! ints, floats, strings, bytes, lists, tuples, sets, dicts, and
//! `collections.OrderedDict` (as a dict). Any other class instance becomes
//! [`Value::Object`] with its state (a NumPy array among them:
//! [`crate::NdArray`]), and a `numpy` scalar of a float or integer dtype its
//! number. Python 3's protocol 0-2 form of `bytes`
//! (`_codecs.encode(text, 'latin1')`) becomes bytes.
//!
//! Why not a crate: the benchmarks key each trial by a tuple, `(dataset,
//! seed)`, and their API code builds some results as `OrderedDict`s.
//! `pytorch-reader` 0.22.1 (burn's reader of `.pth` files, which reads
//! non-tensor pickles with `read_pickle_data`) accepts only str or int dict
//! keys (`src/pickle_reader.rs`, `dict_key` and `key_string`, lines
//! 396-405 and 1650-1655); `serde-pickle` 1.2.0 keeps an unknown class
//! such as `OrderedDict` as an opaque value (`src/de.rs`, lines 1086-1096)
//! and refuses `SETITEMS` on anything but a dict (`modify_dict`, lines
//! 958-969), which is how a pickle fills an `OrderedDict`.
//!
//! Containers are shared (`Rc<RefCell<..>>`) while reading, as Python's
//! objects are: a pickle memoises a container before filling it, and a
//! later reference (`GET`) must see the filled one.

use std::cell::RefCell;
use std::rc::Rc;

use thiserror::Error;

/// A value read from a pickle.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// A bool.
    Bool(bool),
    /// An int that fits 64 bits.
    Int(i64),
    /// A float.
    Float(f64),
    /// A `str`.
    Str(String),
    /// `bytes` (or a protocol-0 `str` of bytes).
    Bytes(Vec<u8>),
    /// A list, set or frozenset.
    List(Vec<Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A dict or `OrderedDict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// An instance of another class: its `module.name` and its state (the
    /// arguments it was built from, then what `BUILD` gave it).
    Object {
        /// `module.name`.
        class: String,
        /// Arguments and state.
        state: Vec<Value>,
    },
}

impl Value {
    /// The value under string key `key`, for a dict. A Python 2 `str` key
    /// (pickled as bytes) matches too, as Python 3 reads it with
    /// `encoding='latin1'`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| match k {
                    Value::Str(s) => s == key,
                    Value::Bytes(b) => b == key.as_bytes(),
                    _ => false,
                })
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The number, for an int or a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)] // epochs, seeds, counts
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The int.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items, for a list or a tuple.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// The items, for a dict.
    pub fn as_dict(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Dict(v) => Some(v),
            _ => None,
        }
    }
}

/// Why a pickle could not be read.
#[derive(Debug, Error, PartialEq)]
pub enum PickleError {
    /// The data ended inside an opcode.
    #[error("the pickle ends early (byte {0})")]
    Truncated(usize),
    /// An opcode this reader does not know.
    #[error("unknown pickle opcode 0x{op:02x} at byte {at}")]
    UnknownOpcode {
        /// The opcode.
        op: u8,
        /// Its byte offset.
        at: usize,
    },
    /// The stack does not hold what an opcode needs.
    #[error("malformed pickle at byte {at}: {message}")]
    Malformed {
        /// Byte offset.
        at: usize,
        /// What is wrong.
        message: String,
    },
}

/// A value while reading: containers shared as Python's objects are.
#[derive(Clone, Debug)]
enum Live {
    Plain(Value),
    List(Rc<RefCell<Vec<Live>>>),
    Tuple(Rc<Vec<Live>>),
    Dict(Rc<RefCell<Vec<(Live, Live)>>>),
    Global(String),
    Object(Rc<RefCell<(String, Vec<Live>)>>),
}

/// How deeply values may nest (the benchmarks' nest a few levels); a
/// deeper value, or one that contains itself, is an error rather than a
/// stack overflow.
const MAX_DEPTH: usize = 256;

/// How many values one pickle may expand to. A pickle may refer to one
/// container many times (`GET`); the tree of [`Value`]s copies it each
/// time, so a hostile file could grow exponentially. The expanded size is
/// counted on the shared graph first, and a pickle above this is refused
/// before anything is copied.
pub const MAX_VALUES: u64 = 4_000_000_000;

fn nested_too_deep() -> PickleError {
    PickleError::Malformed {
        at: 0,
        message: format!(
            "values nested more than {MAX_DEPTH} deep (or a container that holds itself)"
        ),
    }
}

impl Live {
    /// The number of values `self` expands to, counted once per shared
    /// container (`sizes`, by address), saturating.
    fn expanded(
        &self,
        depth: usize,
        sizes: &mut std::collections::HashMap<usize, u64>,
    ) -> Result<u64, PickleError> {
        if depth > MAX_DEPTH {
            return Err(nested_too_deep());
        }
        let key = match self {
            Live::List(l) => Some(Rc::as_ptr(l) as *const () as usize),
            Live::Tuple(t) => Some(Rc::as_ptr(t) as *const () as usize),
            Live::Dict(d) => Some(Rc::as_ptr(d) as *const () as usize),
            Live::Object(o) => Some(Rc::as_ptr(o) as *const () as usize),
            Live::Plain(_) | Live::Global(_) => None,
        };
        if let Some(n) = key.and_then(|k| sizes.get(&k)) {
            return Ok(*n);
        }
        let mut sum = |items: &[Live]| -> Result<u64, PickleError> {
            items.iter().try_fold(1u64, |acc, v| {
                Ok(acc.saturating_add(v.expanded(depth + 1, sizes)?))
            })
        };
        let n = match self {
            Live::Plain(_) | Live::Global(_) => 1,
            Live::List(l) => sum(&l.borrow())?,
            Live::Tuple(t) => sum(t)?,
            Live::Object(o) => sum(&o.borrow().1)?,
            Live::Dict(d) => {
                let d = d.borrow();
                let mut total = 1u64;
                for (k, v) in d.iter() {
                    total = total
                        .saturating_add(k.expanded(depth + 1, sizes)?)
                        .saturating_add(v.expanded(depth + 1, sizes)?);
                }
                total
            }
        };
        if let Some(k) = key {
            sizes.insert(k, n);
        }
        Ok(n)
    }

    /// The value, its size checked first ([`MAX_VALUES`]).
    fn finish_checked(&self) -> Result<Value, PickleError> {
        let n = self.expanded(0, &mut Default::default())?;
        if n > MAX_VALUES {
            return Err(PickleError::Malformed {
                at: 0,
                message: format!(
                    "it expands to {n} values, more than {MAX_VALUES} (a container referred to \
                     too often)"
                ),
            });
        }
        self.finish(0)
    }

    fn finish(&self, depth: usize) -> Result<Value, PickleError> {
        if depth > MAX_DEPTH {
            return Err(nested_too_deep());
        }
        let all = |items: &[Live]| -> Result<Vec<Value>, PickleError> {
            items.iter().map(|v| v.finish(depth + 1)).collect()
        };
        Ok(match self {
            Live::Plain(v) => v.clone(),
            Live::List(l) => Value::List(all(&l.borrow())?),
            Live::Tuple(t) => Value::Tuple(all(t)?),
            Live::Dict(d) => {
                let d = d.borrow();
                let mut items = Vec::with_capacity(d.len());
                for (k, v) in d.iter() {
                    items.push((k.finish(depth + 1)?, v.finish(depth + 1)?));
                }
                Value::Dict(items)
            }
            Live::Global(name) => Value::Object {
                class: name.clone(),
                state: Vec::new(),
            },
            Live::Object(o) => {
                let o = o.borrow();
                Value::Object {
                    class: o.0.clone(),
                    state: all(&o.1)?,
                }
            }
        })
    }
}

/// A reader over one pickle in `data`, from byte `pos`.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Live>,
    marks: Vec<usize>,
    memo: std::collections::HashMap<u64, Live>,
}

/// Reads one pickle from the start of `data`; returns the value and the
/// number of bytes it took (pickles may follow each other, as in
/// PyTorch's legacy files).
pub fn read(data: &[u8]) -> Result<(Value, usize), PickleError> {
    let mut r = Reader {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Default::default(),
    };
    let value = r.run()?;
    Ok((value, r.pos))
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], PickleError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(PickleError::Truncated(self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self, n: usize) -> Result<u64, PickleError> {
        let b = self.take(n)?;
        Ok(b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let start = self.pos;
        let end = self.data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated(start))?;
        self.pos = start + end + 1;
        Ok(String::from_utf8_lossy(&self.data[start..start + end]).into_owned())
    }

    /// A protocol-0 memo key: a decimal number on its own line.
    fn line_key(&mut self) -> Result<u64, PickleError> {
        let line = self.line()?;
        match line.trim().parse::<u64>() {
            Ok(k) => Ok(k),
            Err(_) => self.bad(format!("a memo key `{line}`")),
        }
    }

    fn bad<T>(&self, message: impl Into<String>) -> Result<T, PickleError> {
        Err(PickleError::Malformed {
            at: self.pos,
            message: message.into(),
        })
    }

    fn pop(&mut self) -> Result<Live, PickleError> {
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => self.bad("pop from an empty stack"),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Live>, PickleError> {
        let Some(at) = self.marks.pop() else {
            return self.bad("no mark on the stack");
        };
        if at > self.stack.len() {
            return self.bad("mark beyond the stack");
        }
        Ok(self.stack.split_off(at))
    }

    fn push(&mut self, v: Live) {
        self.stack.push(v);
    }

    fn len_prefixed(&mut self, n: usize) -> Result<Vec<u8>, PickleError> {
        let len = usize::try_from(self.uint(n)?).map_err(|_| PickleError::Truncated(self.pos))?;
        Ok(self.take(len)?.to_vec())
    }

    fn text(&mut self, n: usize) -> Result<Live, PickleError> {
        let bytes = self.len_prefixed(n)?;
        match String::from_utf8(bytes) {
            Ok(s) => Ok(Live::Plain(Value::Str(s))),
            Err(_) => self.bad("a str that is not UTF-8"),
        }
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let Some(top) = self.stack.last() else {
            return self.bad("memoising an empty stack");
        };
        self.memo.insert(key, top.clone());
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        match self.memo.get(&key) {
            Some(v) => {
                let v = v.clone();
                self.push(v);
                Ok(())
            }
            None => self.bad(format!("memo entry {key} was never stored")),
        }
    }

    fn set_items(&mut self, items: Vec<Live>) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return self.bad("an odd number of dict items");
        }
        let Some(Live::Dict(d)) = self.stack.last() else {
            return self.bad("setting items on something that is not a dict");
        };
        let mut d = d.borrow_mut();
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.push((k, v));
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Live>) -> Result<(), PickleError> {
        match self.stack.last() {
            Some(Live::List(l)) => {
                l.borrow_mut().extend(items);
                Ok(())
            }
            _ => self.bad("appending to something that is not a list"),
        }
    }

    /// `callable(*args)`: an `OrderedDict` (or `dict`) becomes a dict, a
    /// numpy scalar its number, anything else an object.
    fn reduce(&mut self, callable: Live, args: Live) -> Result<Live, PickleError> {
        let args: Vec<Live> = match args {
            Live::Tuple(t) => t.as_ref().clone(),
            other => vec![other],
        };
        let Live::Global(name) = callable else {
            return self.bad("calling something that is not a class or function");
        };
        match name.as_str() {
            "collections.OrderedDict" | "builtins.dict" | "__builtin__.dict" => {
                let dict = Rc::new(RefCell::new(Vec::new()));
                if let Some(Live::List(pairs)) = args.first() {
                    for pair in pairs.borrow().iter() {
                        let Live::Tuple(kv) = pair else {
                            return self.bad("OrderedDict items that are not pairs");
                        };
                        if let [k, v] = kv.as_slice() {
                            dict.borrow_mut().push((k.clone(), v.clone()));
                        }
                    }
                }
                Ok(Live::Dict(dict))
            }
            "numpy.core.multiarray.scalar" | "numpy._core.multiarray.scalar" => numpy_scalar(&args)
                .map_or_else(
                    || self.bad("a numpy scalar of an unsupported dtype"),
                    |v| Ok(Live::Plain(v)),
                ),
            "_codecs.encode" => match args.as_slice() {
                [
                    Live::Plain(Value::Str(text)),
                    Live::Plain(Value::Str(codec)),
                ] if codec == "latin1" || codec == "latin-1" => {
                    let bytes: Option<Vec<u8>> =
                        text.chars().map(|c| u8::try_from(c).ok()).collect();
                    bytes.map_or_else(
                        || self.bad("latin1 text with a character above U+00FF"),
                        |b| Ok(Live::Plain(Value::Bytes(b))),
                    )
                }
                _ => self.bad("_codecs.encode of something other than latin1 text"),
            },
            _ => Ok(Live::Object(Rc::new(RefCell::new((name, args))))),
        }
    }

    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                b'.' => {
                    let top = self.pop()?;
                    return top.finish_checked();
                }
                0x80 => {
                    self.u8()?; // protocol
                }
                0x95 => {
                    self.uint(8)?; // frame length
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let Some(top) = self.stack.last().cloned() else {
                        return self.bad("DUP on an empty stack");
                    };
                    self.push(top);
                }
                b'N' => self.push(Live::Plain(Value::None)),
                0x88 => self.push(Live::Plain(Value::Bool(true))),
                0x89 => self.push(Live::Plain(Value::Bool(false))),
                b'J' => {
                    let v = self.uint(4)? as u32 as i32;
                    self.push(Live::Plain(Value::Int(i64::from(v))));
                }
                b'K' => {
                    let v = self.uint(1)?;
                    self.push(Live::Plain(Value::Int(v as i64)));
                }
                b'M' => {
                    let v = self.uint(2)?;
                    self.push(Live::Plain(Value::Int(v as i64)));
                }
                0x8a | 0x8b => {
                    let bytes = self.len_prefixed(if op == 0x8a { 1 } else { 4 })?;
                    self.push(Live::Plain(
                        long(&bytes).map_or_else(|| Value::Float(f64::NAN), Value::Int),
                    ));
                }
                b'I' | b'L' => {
                    let line = self.line()?;
                    let text = line.trim_end_matches('L');
                    let v = match text {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        t => match t.parse::<i64>() {
                            Ok(i) => Value::Int(i),
                            Err(_) => return self.bad(format!("an int `{t}`")),
                        },
                    };
                    self.push(Live::Plain(v));
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(Live::Plain(Value::Float(f64::from_be_bytes(a))));
                }
                b'F' => {
                    let line = self.line()?;
                    match line.trim().parse::<f64>() {
                        Ok(f) => self.push(Live::Plain(Value::Float(f))),
                        Err(_) => return self.bad(format!("a float `{line}`")),
                    }
                }
                0x8c => {
                    let v = self.text(1)?;
                    self.push(v);
                }
                b'X' => {
                    let v = self.text(4)?;
                    self.push(v);
                }
                0x8d => {
                    let v = self.text(8)?;
                    self.push(v);
                }
                b'V' => {
                    let line = self.line()?;
                    self.push(Live::Plain(Value::Str(line)));
                }
                b'U' | b'C' => {
                    let b = self.len_prefixed(1)?;
                    self.push(Live::Plain(Value::Bytes(b)));
                }
                b'T' | b'B' => {
                    let b = self.len_prefixed(4)?;
                    self.push(Live::Plain(Value::Bytes(b)));
                }
                0x8e | 0x96 => {
                    // BINBYTES8, BYTEARRAY8 (protocol 5's in-band buffers).
                    let b = self.len_prefixed(8)?;
                    self.push(Live::Plain(Value::Bytes(b)));
                }
                b'S' => {
                    let start = self.pos;
                    let end = self.data[start..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .ok_or(PickleError::Truncated(start))?;
                    self.pos = start + end + 1;
                    let Some(bytes) = unquote(&self.data[start..start + end]) else {
                        return self.bad("a protocol-0 string that is not a quoted Python literal");
                    };
                    // Python 2's `str` is bytes; text when it is UTF-8.
                    let v = match String::from_utf8(bytes) {
                        Ok(s) => Value::Str(s),
                        Err(e) => Value::Bytes(e.into_bytes()),
                    };
                    self.push(Live::Plain(v));
                }
                b'}' => self.push(Live::Dict(Rc::new(RefCell::new(Vec::new())))),
                b']' => self.push(Live::List(Rc::new(RefCell::new(Vec::new())))),
                b')' => self.push(Live::Tuple(Rc::new(Vec::new()))),
                0x8f => self.push(Live::List(Rc::new(RefCell::new(Vec::new())))),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Live::Dict(Rc::new(RefCell::new(Vec::new()))));
                    self.set_items(items)?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Live::List(Rc::new(RefCell::new(items))));
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Live::Tuple(Rc::new(items)));
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Live::List(Rc::new(RefCell::new(items))));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return self.bad("a tuple of more items than the stack holds");
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(Live::Tuple(Rc::new(items)));
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                b'q' => {
                    let k = self.uint(1)?;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.uint(4)?;
                    self.memo_put(k)?;
                }
                b'p' => {
                    let k = self.line_key()?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.uint(1)?;
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = self.uint(4)?;
                    self.memo_get(k)?;
                }
                b'g' => {
                    let k = self.line_key()?;
                    self.memo_get(k)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Live::Global(format!("{module}.{name}")));
                }
                0x93 => {
                    let name = self.pop()?.finish_checked()?;
                    let module = self.pop()?.finish_checked()?;
                    let (Value::Str(m), Value::Str(n)) = (module, name) else {
                        return self.bad("STACK_GLOBAL of something that is not two strs");
                    };
                    self.push(Live::Global(format!("{m}.{n}")));
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.reduce(callable, args)?;
                    self.push(v);
                }
                0x81 => {
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let v = self.reduce(class, args)?;
                    self.push(v);
                }
                b'b' => {
                    let state = self.pop()?;
                    match self.stack.last() {
                        Some(Live::Dict(d)) => {
                            if let Live::Dict(s) = &state {
                                let items = s.borrow().clone();
                                d.borrow_mut().extend(items);
                            }
                        }
                        Some(Live::Object(o)) => o.borrow_mut().1.push(state),
                        Some(_) => {}
                        None => return self.bad("BUILD on an empty stack"),
                    }
                }
                b'P' | b'Q' => {
                    return self.bad("a persistent id (the file holds tensors)");
                }
                op => return Err(PickleError::UnknownOpcode { op, at }),
            }
        }
    }
}

/// The bytes of a protocol-0 `STRING` argument: a Python literal in single
/// or double quotes with Python's escapes (`\\`, `\'`, `\n`, `\xhh`,
/// octal `\ooo`, ...), as `codecs.escape_decode` reads it.
fn unquote(line: &[u8]) -> Option<Vec<u8>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (&first, rest) = line.split_first()?;
    let inner = match first {
        b'\'' | b'"' => rest.strip_suffix(&[first])?,
        _ => return None,
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut it = inner.iter().copied().peekable();
    while let Some(c) = it.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let e = it.next()?;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'x' => {
                let hex = [it.next()?, it.next()?];
                let text = std::str::from_utf8(&hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match it.peek() {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            it.next();
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(v & 0xff).ok()?);
            }
            // Python keeps an unknown escape as it is.
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    Some(out)
}

/// A little-endian two's-complement int of up to 8 bytes.
fn long(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() {
        return Some(0);
    }
    if bytes.len() > 8 {
        return None;
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
    buf[..bytes.len()].copy_from_slice(bytes);
    Some(i64::from_le_bytes(buf))
}

/// `numpy.core.multiarray.scalar(dtype, bytes)` for float and int dtypes.
fn numpy_scalar(args: &[Live]) -> Option<Value> {
    let [dtype, Live::Plain(Value::Bytes(b))] = args else {
        return None;
    };
    let Live::Object(o) = dtype else {
        return None;
    };
    let kind = o
        .borrow()
        .1
        .first()
        .and_then(|v| match v.finish_checked() {
            Ok(Value::Str(s)) => Some(s),
            _ => None,
        })?;
    let array = |n: usize| -> Option<[u8; 8]> {
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(b.get(..n)?);
        Some(a)
    };
    match kind.as_str() {
        "f8" => Some(Value::Float(f64::from_le_bytes(array(8)?))),
        "f4" => {
            let a = array(4)?;
            Some(Value::Float(f64::from(f32::from_le_bytes([
                a[0], a[1], a[2], a[3],
            ]))))
        }
        "i8" => Some(Value::Int(i64::from_le_bytes(array(8)?))),
        "i4" => {
            let a = array(4)?;
            Some(Value::Int(i64::from(i32::from_le_bytes([
                a[0], a[1], a[2], a[3],
            ]))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// No input panics the reader: random bytes, and the test pickle
        /// with a byte changed or cut short.
        #[test]
        fn no_input_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = read(&bytes);
        }

        #[test]
        fn no_mutation_panics(at in 0..P2.len(), byte in any::<u8>(), cut in 0..P2.len()) {
            let mut b = P2.to_vec();
            b[at] = byte;
            let _ = read(&b);
            let _ = read(&b[..cut]);
        }
    }

    /// `pickle.dumps({'a': [1, 2.5, 'x'], (1, 'k'): None, 'n': -300}, protocol=2)`.
    const P2: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x03eK\x01X\x01\x00\x00\x00kq\x04\x86q\x05NX\x01\x00\x00\x00nq\x06J\xd4\xfe\xff\xffu.";

    #[test]
    fn reads_a_protocol_2_dict() {
        let (v, n) = read(P2).unwrap();
        assert_eq!(n, P2.len());
        assert_eq!(
            v.get("a").unwrap(),
            &Value::List(vec![
                Value::Int(1),
                Value::Float(2.5),
                Value::Str("x".into())
            ])
        );
        assert_eq!(v.get("n").unwrap(), &Value::Int(-300));
        let items = v.as_dict().unwrap();
        assert_eq!(
            items[1].0,
            Value::Tuple(vec![Value::Int(1), Value::Str("k".into())])
        );
        assert_eq!(items[1].1, Value::None);
    }

    #[test]
    fn bytes_in_every_form_read_as_bytes() {
        // Python 3, protocol 2: `pickle.dumps(b'\x00\xffa', protocol=2)`.
        let p = b"\x80\x02c_codecs\nencode\nq\x00X\x04\x00\x00\x00\x00\xc3\xbfaq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.";
        assert_eq!(read(p).unwrap().0, Value::Bytes(vec![0, 0xff, b'a']));
        // Python 2, protocol 0: a quoted literal with escapes (as
        // `pickle.loads(.., encoding='bytes')` reads it:
        // b"a\x00\xff\n'bA\\q").
        let p = b"S'a\\x00\\xff\\n\\'b\\101\\q'\np0\n.";
        assert_eq!(
            read(p).unwrap().0,
            Value::Bytes(b"a\x00\xff\n'bA\\q".to_vec())
        );
        // Text in a protocol-0 string stays text.
        assert_eq!(
            read(b"S\"it's\"\np0\n.").unwrap().0,
            Value::Str("it's".into())
        );
        // Protocol 5: `pickle.dumps(bytearray(b'ab'), protocol=5)`.
        let p = b"\x80\x05\x95\r\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00ab\x94.";
        assert_eq!(read(p).unwrap().0, Value::Bytes(b"ab".to_vec()));
        // Unquoted or half-quoted literals are refused.
        assert!(matches!(
            read(b"Sabc\n."),
            Err(PickleError::Malformed { .. })
        ));
        assert!(matches!(
            read(b"S'abc\n."),
            Err(PickleError::Malformed { .. })
        ));
        assert!(matches!(
            read(b"S'\\x4'\n."),
            Err(PickleError::Malformed { .. })
        ));
    }

    #[test]
    fn damaged_pickles_are_errors() {
        assert!(matches!(read(&P2[..20]), Err(PickleError::Truncated(_))));
        assert!(matches!(
            read(b"\x80\x02\xff."),
            Err(PickleError::UnknownOpcode { op: 0xff, at: 2 })
        ));
        assert!(matches!(read(b"."), Err(PickleError::Malformed { .. })));
        // A tuple referred to three times in each of 60 levels: 3^60 values.
        let mut bomb = b"\x80\x02)q\x00".to_vec();
        for _ in 0..60 {
            bomb.extend_from_slice(b"h\x00h\x00h\x00\x87q\x00");
        }
        bomb.push(b'.');
        assert!(matches!(read(&bomb), Err(PickleError::Malformed { .. })));
        // A list that contains itself (`l = []; l.append(l)`).
        assert!(matches!(
            read(b"\x80\x02]q\x00h\x00a."),
            Err(PickleError::Malformed { .. })
        ));
        assert_eq!(long(&[0xd4, 0xfe]), Some(-300));
        assert_eq!(long(&[0x2c, 0x01]), Some(300));
    }
}
