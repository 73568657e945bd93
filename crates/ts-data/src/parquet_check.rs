//! Checks a Parquet file's page headers against its footer before polars decodes it.
//!
//! polars-parquet trusts a data page's value count: a page claiming billions of values (or a
//! negative count, read as a huge one) makes the decoder reserve memory it cannot get, and the
//! process aborts on the failed allocation, which no panic guard can catch (found by
//! `cargo fuzz run parquet_loader`; input in `tests/fuzz-corpus/parquet/oom-page-validity`). Every
//! data page of a flat column holds at most its row group's rows, so a count beyond that is refused
//! here.
//!
//! A dictionary page's value count is trusted the same way: polars reserves room for that many
//! values (16 bytes each for strings) before it decodes the page, so a dictionary page claiming
//! 2^31 - 1 entries aborted the process (`tests/fuzz-corpus/parquet/oom-dict-page`). Dictionary
//! values are always PLAIN-encoded, each taking at least its physical type's width, so a count
//! beyond what the page's bytes can hold is refused, as is one beyond the column chunk's values.
//!
//! Those bounds rest on the row counts of the footer, which a few bytes can set to billions: a
//! page claiming 2^31 - 1 values passes them in a row group claiming as many rows, and polars then
//! reserves tens of GiB and aborts (`tests/fuzz-corpus/parquet/oom-huge-row-group`). A file whose
//! claimed rows would take more memory to decode than the machine has available is refused first.
//!
//! polars-parquet builds the schema tree by recursion, one level per nested group: a footer of
//! 10,000 groups nested one in another (119 KB) overflowed the stack of polars' schema conversion,
//! and 100,000 (1.3 MB) that of its footer reader; a stack overflow aborts the process. The footer's
//! schema list is read here without recursion first, and a schema nested deeper than
//! [`MAX_SCHEMA_DEPTH`] levels is refused (`tests/fuzz-corpus/parquet/deep-schema`).
//!
//! polars' footer decoder also reserves room for a whole Thrift list from its header: a list
//! claiming 2^31 - 1 elements aborts the process. The same skim refuses a list, map or string
//! claiming more entries than the footer's bytes left can hold. It reads fields by their wire
//! types, while polars reads a known field id as the type the format gives it whatever its wire
//! type says, so a footer that gives a known field another wire type could put a huge list
//! header where polars reads one (`tests/fuzz-corpus/parquet/oom-footer-list*`, found by
//! `cargo fuzz run parquet_loader`: 109-136 GB reserved, and the process aborted). The skim
//! therefore walks the footer by the format's declarations of the structs polars decodes
//! (FileMetaData, SchemaElement, LogicalType and its parts, RowGroup, ColumnChunk,
//! ColumnMetaData, Statistics, KeyValue, SortingColumn, ColumnOrder) and refuses a known field or
//! list element written with another type. Past that check polars reads exactly the values the
//! skim read, so every list it sizes has been bounded here.

use std::io::Cursor;
use std::path::Path;

use polars_buffer::Buffer;
use polars_parquet::parquet::compression::{Compression, DecompressionContext};
use polars_parquet::parquet::metadata::FileMetadata;
use polars_parquet::parquet::page::{CompressedPage, Page};
use polars_parquet::parquet::read::{decompress, get_page_iterator, read_metadata};
use polars_parquet::parquet::schema::types::PhysicalType;

use crate::error::{DataError, Result};

/// Refuses a file whose column chunks or data pages claim more values than they can hold. A file
/// whose footer or pages cannot be read at all is left to polars, which reports it.
pub(crate) fn check_page_headers(path: &Path, bytes: Vec<u8>) -> Result<()> {
    check_footer(path, &bytes)?;
    let len = bytes.len();
    let buffer = Buffer::from(bytes);
    let Ok(meta) = read_metadata(&mut Cursor::new(buffer.clone())) else {
        return Ok(());
    };
    let bad = |what: String| DataError::Unreadable {
        path: path.to_path_buf(),
        message: format!("not a valid Parquet file ({what})"),
    };
    check_decoded_size(path, &meta)?;
    for (g, group) in meta.row_groups.iter().enumerate() {
        let rows = group.num_rows();
        for column in group.parquet_columns() {
            let name = &column.descriptor().path_in_schema.join(".");
            let flat = column.descriptor().descriptor.max_rep_level == 0;
            // Values a page may hold: the rows for a flat column; any count that fits the
            // format's i32 for a nested one.
            let most = if flat { rows } else { i32::MAX as usize };
            let chunk_values = column.num_values();
            if chunk_values < 0 || (flat && chunk_values as usize > rows) {
                return Err(bad(format!(
                    "row group {g}, column {name:?} claims {chunk_values} values for {rows} rows"
                )));
            }
            let Ok(pages) = get_page_iterator(column, Cursor::new(buffer.clone()), Vec::new(), len)
            else {
                continue;
            };
            // Bits one PLAIN-encoded value takes at least (a byte array: its 4-byte length).
            let value_bits = match column.physical_type() {
                PhysicalType::Boolean => 1,
                PhysicalType::Int32 | PhysicalType::Float | PhysicalType::ByteArray => 32,
                PhysicalType::Int64 | PhysicalType::Double => 64,
                PhysicalType::Int96 => 96,
                PhysicalType::FixedLenByteArray(n) => 8 * n.max(1),
            };
            let mut scratch = Vec::new();
            for page in pages {
                match page {
                    Ok(CompressedPage::Dict(p)) => {
                        let compressed = p.compression() != Compression::Uncompressed;
                        let Ok(Page::Dict(d)) = decompress(
                            CompressedPage::Dict(p),
                            &mut scratch,
                            &mut DecompressionContext::Unset,
                        ) else {
                            // Undecodable pages are polars' to report.
                            break;
                        };
                        let fits = d.buffer.len().saturating_mul(8) / value_bits;
                        if d.num_values > fits || d.num_values as i64 > chunk_values {
                            return Err(bad(format!(
                                "row group {g}, column {name:?}: the dictionary page claims {} values, but its {}{} bytes hold at most {fits} and the column chunk has {chunk_values} values",
                                d.num_values,
                                d.buffer.len(),
                                if compressed { " uncompressed" } else { "" },
                            )));
                        }
                        // Only the decompressed dictionary is kept; free it before the next column.
                        scratch = Vec::new();
                    }
                    Ok(CompressedPage::Data(p)) if p.num_values() > most => {
                        return Err(bad(format!(
                            "row group {g}, column {name:?}: a page claims {} values for {rows} rows",
                            p.num_values() as i32
                        )));
                    }
                    Ok(_) => {}
                    // Unreadable pages are polars' to report.
                    Err(_) => break,
                }
            }
        }
    }
    Ok(())
}

/// Bits polars holds per decoded value of a physical type, at least (strings and binary: a 16-byte
/// view each; 96-bit timestamps become 64-bit ones).
fn decoded_bits(t: PhysicalType) -> u128 {
    match t {
        PhysicalType::Boolean => 1,
        PhysicalType::Int32 | PhysicalType::Float => 32,
        PhysicalType::Int64 | PhysicalType::Double | PhysicalType::Int96 => 64,
        PhysicalType::ByteArray => 128,
        PhysicalType::FixedLenByteArray(n) => 8 * n as u128,
    }
}

/// Refuses a file whose row groups claim more rows than this machine has the memory to decode
/// (polars reserves a page's or row group's values up front and aborts the process when the
/// allocation fails). Where the available memory is unknown (no `/proc/meminfo`), 16 GiB is
/// assumed.
fn check_decoded_size(path: &Path, meta: &FileMetadata) -> Result<()> {
    let available = available_memory().unwrap_or(16 << 30);
    let mut rows: u128 = 0;
    let mut bits: u128 = 0;
    for group in &meta.row_groups {
        let per_row: u128 = group
            .parquet_columns()
            .iter()
            .map(|c| decoded_bits(c.physical_type()))
            .sum();
        let r = group.num_rows() as u128;
        rows = rows.saturating_add(r);
        bits = bits.saturating_add(r.saturating_mul(per_row));
    }
    let bytes = bits / 8;
    if bytes > available as u128 {
        let gib = |b: u128| b as f64 / f64::from(1u32 << 30);
        return Err(DataError::Unreadable {
            path: path.to_path_buf(),
            message: format!(
                "its row groups claim {rows} rows, about {:.1} GiB once decoded, more than the {:.1} GiB of memory available",
                gib(bytes),
                gib(available as u128)
            ),
        });
    }
    Ok(())
}

/// Memory available to a new allocation (Linux: `MemAvailable` of `/proc/meminfo`), in bytes.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// The deepest schema nesting accepted (ts-data reads flat columns; a list column is 3 levels).
pub(crate) const MAX_SCHEMA_DEPTH: usize = 64;

/// Refuses a file whose footer's fields do not have the types the Parquet format gives them, or
/// whose footer lists claim more elements than its bytes can hold, or whose schema nests groups
/// deeper than [`MAX_SCHEMA_DEPTH`]. The footer's Thrift (compact protocol) is walked without
/// recursion into the schema. A footer that cannot be read is left to polars.
fn check_footer(path: &Path, bytes: &[u8]) -> Result<()> {
    let bad = |message: String| DataError::Unreadable {
        path: path.to_path_buf(),
        message: format!("not a valid Parquet file ({message})"),
    };
    let schema = match footer_schema(bytes) {
        Ok(schema) => schema,
        Err(Skim::TooLong { count, left }) => {
            return Err(bad(format!(
                "a list, map or string of the footer claims {count} entries in the {left} bytes left"
            )));
        }
        Err(Skim::WrongType {
            field,
            found,
            expected,
        }) => {
            return Err(bad(format!(
                "footer field {field} is written as {}, but the format makes it {expected}",
                type_name(found)
            )));
        }
        // A footer that cannot be read is polars' to report.
        Err(Skim::Malformed) => return Ok(()),
    };
    // Children still expected by each open group, outermost first.
    let mut open: Vec<i64> = Vec::new();
    for (name, children) in schema {
        if let Some(left) = open.last_mut() {
            *left -= 1;
        }
        let depth = open.len();
        if depth > MAX_SCHEMA_DEPTH {
            return Err(bad(format!(
                "schema element {name:?} is nested {depth} groups deep; at most {MAX_SCHEMA_DEPTH} are supported"
            )));
        }
        if children > 0 {
            open.push(children);
        }
        while open.last() == Some(&0) {
            open.pop();
        }
    }
    Ok(())
}

/// Why the footer could not be skimmed.
enum Skim {
    /// Not the compact protocol as expected (polars reports it).
    Malformed,
    /// A list or map claims more elements than the bytes left can hold (polars reserves room for
    /// them all before reading one: 109 GB for a fuzzed footer, and the process aborted).
    TooLong { count: u64, left: usize },
    /// A field polars decodes is written with another Thrift type than the format gives it.
    /// polars reads a known field as its format type whatever the written type says, so its
    /// reading and this skim part ways there, and polars could then read a list header (and
    /// reserve room for it) where this skim saw none.
    WrongType {
        field: String,
        found: u8,
        expected: &'static str,
    },
}

type Skimmed<T> = std::result::Result<T, Skim>;

fn some<T>(v: Option<T>) -> Skimmed<T> {
    v.ok_or(Skim::Malformed)
}

/// The Thrift type of a footer field as the Parquet format (`parquet.thrift`) declares it.
#[derive(Clone, Copy)]
enum Ty {
    Bool,
    Byte,
    I16,
    I32,
    I64,
    Binary,
    List(&'static Ty),
    Struct(&'static Def),
}

impl Ty {
    /// The compact-protocol type code a value of this type is written with (a struct field's
    /// boolean: 1 for true, 2 for false).
    fn wire(self) -> u8 {
        match self {
            Ty::Bool => 1,
            Ty::Byte => 3,
            Ty::I16 => 4,
            Ty::I32 => 5,
            Ty::I64 => 6,
            Ty::Binary => 8,
            Ty::List(_) => 9,
            Ty::Struct(_) => 12,
        }
    }

    /// Whether a value written with compact-protocol type `wire` is read correctly as `self`.
    fn accepts(self, wire: u8) -> bool {
        wire == self.wire() || (matches!(self, Ty::Bool) && wire == 2)
    }

    fn name(self) -> &'static str {
        type_name(self.wire())
    }
}

/// The name of a compact-protocol type, as written in a field or list header.
fn type_name(wire: u8) -> &'static str {
    match wire {
        1 | 2 => "a bool",
        3 => "a byte",
        4 => "an i16",
        5 => "an i32",
        6 => "an i64",
        7 => "a double",
        8 => "a binary",
        9 => "a list",
        10 => "a set",
        11 => "a map",
        12 => "a struct",
        _ => "an unknown type",
    }
}

/// A footer struct (or union): the fields polars' footer decoder reads or skips by their format
/// type (`polars-parquet`'s `handwritten_thrift/file_metadata_thrift.rs`). Others are skipped by
/// their written type, there and here alike.
struct Def {
    name: &'static str,
    fields: &'static [(i16, &'static str, Ty)],
}

const EMPTY: Def = Def {
    name: "EmptyStruct",
    fields: &[],
};
const TIME_UNIT: Def = Def {
    name: "TimeUnit",
    fields: &[
        (1, "MILLIS", Ty::Struct(&EMPTY)),
        (2, "MICROS", Ty::Struct(&EMPTY)),
        (3, "NANOS", Ty::Struct(&EMPTY)),
    ],
};
const TIME_TYPE: Def = Def {
    name: "TimeType",
    fields: &[
        (1, "isAdjustedToUTC", Ty::Bool),
        (2, "unit", Ty::Struct(&TIME_UNIT)),
    ],
};
const TIMESTAMP_TYPE: Def = Def {
    name: "TimestampType",
    fields: TIME_TYPE.fields,
};
const DECIMAL_TYPE: Def = Def {
    name: "DecimalType",
    fields: &[(1, "scale", Ty::I32), (2, "precision", Ty::I32)],
};
const INT_TYPE: Def = Def {
    name: "IntType",
    fields: &[(1, "bitWidth", Ty::Byte), (2, "isSigned", Ty::Bool)],
};
const LOGICAL_TYPE: Def = Def {
    name: "LogicalType",
    fields: &[
        (1, "STRING", Ty::Struct(&EMPTY)),
        (2, "MAP", Ty::Struct(&EMPTY)),
        (3, "LIST", Ty::Struct(&EMPTY)),
        (4, "ENUM", Ty::Struct(&EMPTY)),
        (5, "DECIMAL", Ty::Struct(&DECIMAL_TYPE)),
        (6, "DATE", Ty::Struct(&EMPTY)),
        (7, "TIME", Ty::Struct(&TIME_TYPE)),
        (8, "TIMESTAMP", Ty::Struct(&TIMESTAMP_TYPE)),
        (10, "INTEGER", Ty::Struct(&INT_TYPE)),
        (11, "UNKNOWN", Ty::Struct(&EMPTY)),
        (12, "JSON", Ty::Struct(&EMPTY)),
        (13, "BSON", Ty::Struct(&EMPTY)),
        (14, "UUID", Ty::Struct(&EMPTY)),
        (15, "FLOAT16", Ty::Struct(&EMPTY)),
    ],
};
const SCHEMA_ELEMENT: Def = Def {
    name: "SchemaElement",
    fields: &[
        (1, "type", Ty::I32),
        (2, "type_length", Ty::I32),
        (3, "repetition_type", Ty::I32),
        (4, "name", Ty::Binary),
        (5, "num_children", Ty::I32),
        (6, "converted_type", Ty::I32),
        (7, "scale", Ty::I32),
        (8, "precision", Ty::I32),
        (9, "field_id", Ty::I32),
        (10, "logicalType", Ty::Struct(&LOGICAL_TYPE)),
    ],
};
const STATISTICS: Def = Def {
    name: "Statistics",
    fields: &[
        (1, "max", Ty::Binary),
        (2, "min", Ty::Binary),
        (3, "null_count", Ty::I64),
        (4, "distinct_count", Ty::I64),
        (5, "max_value", Ty::Binary),
        (6, "min_value", Ty::Binary),
        (7, "is_max_value_exact", Ty::Bool),
        (8, "is_min_value_exact", Ty::Bool),
    ],
};
const COLUMN_META_DATA: Def = Def {
    name: "ColumnMetaData",
    fields: &[
        (1, "type", Ty::I32),
        (2, "encodings", Ty::List(&Ty::I32)),
        (3, "path_in_schema", Ty::List(&Ty::Binary)),
        (4, "codec", Ty::I32),
        (5, "num_values", Ty::I64),
        (6, "total_uncompressed_size", Ty::I64),
        (7, "total_compressed_size", Ty::I64),
        (9, "data_page_offset", Ty::I64),
        (10, "index_page_offset", Ty::I64),
        (11, "dictionary_page_offset", Ty::I64),
        (12, "statistics", Ty::Struct(&STATISTICS)),
        (14, "bloom_filter_offset", Ty::I64),
        (15, "bloom_filter_length", Ty::I32),
    ],
};
const COLUMN_CHUNK: Def = Def {
    name: "ColumnChunk",
    fields: &[
        (1, "file_path", Ty::Binary),
        (2, "file_offset", Ty::I64),
        (3, "meta_data", Ty::Struct(&COLUMN_META_DATA)),
        (4, "offset_index_offset", Ty::I64),
        (5, "offset_index_length", Ty::I32),
        (6, "column_index_offset", Ty::I64),
        (7, "column_index_length", Ty::I32),
    ],
};
const SORTING_COLUMN: Def = Def {
    name: "SortingColumn",
    fields: &[
        (1, "column_idx", Ty::I32),
        (2, "descending", Ty::Bool),
        (3, "nulls_first", Ty::Bool),
    ],
};
const ROW_GROUP: Def = Def {
    name: "RowGroup",
    fields: &[
        (1, "columns", Ty::List(&Ty::Struct(&COLUMN_CHUNK))),
        (2, "total_byte_size", Ty::I64),
        (3, "num_rows", Ty::I64),
        (4, "sorting_columns", Ty::List(&Ty::Struct(&SORTING_COLUMN))),
        (5, "file_offset", Ty::I64),
        (6, "total_compressed_size", Ty::I64),
        (7, "ordinal", Ty::I16),
    ],
};
const KEY_VALUE: Def = Def {
    name: "KeyValue",
    fields: &[(1, "key", Ty::Binary), (2, "value", Ty::Binary)],
};
const COLUMN_ORDER: Def = Def {
    name: "ColumnOrder",
    fields: &[
        (1, "TYPE_ORDER", Ty::Struct(&EMPTY)),
        (2, "IEEE_754_TOTAL_ORDER", Ty::Struct(&EMPTY)),
    ],
};
const FILE_META_DATA: Def = Def {
    name: "FileMetaData",
    fields: &[
        (1, "version", Ty::I32),
        (2, "schema", Ty::List(&Ty::Struct(&SCHEMA_ELEMENT))),
        (3, "num_rows", Ty::I64),
        (4, "row_groups", Ty::List(&Ty::Struct(&ROW_GROUP))),
        (5, "key_value_metadata", Ty::List(&Ty::Struct(&KEY_VALUE))),
        (6, "created_by", Ty::Binary),
        (7, "column_orders", Ty::List(&Ty::Struct(&COLUMN_ORDER))),
    ],
};

/// The footer's schema elements as (name, number of children), after checking that every field
/// polars decodes has its format type and that no list, map or string of the footer claims more
/// elements than its bytes can hold (each element takes a byte at least).
fn footer_schema(bytes: &[u8]) -> Skimmed<Vec<(String, i64)>> {
    let n = bytes.len();
    if n < 12 || &bytes[n - 4..] != b"PAR1" {
        return Err(Skim::Malformed);
    }
    let len = u32::from_le_bytes(some(bytes[n - 8..n - 4].try_into().ok())?) as usize;
    let footer = some(bytes.get(some(n.checked_sub(8 + len))?..n - 8))?;
    let mut r = Thrift {
        buf: footer,
        pos: 0,
    };
    let mut schema = Vec::new();
    r.typed_struct(&FILE_META_DATA, 0, &mut schema)?;
    Ok(schema)
}

/// A reader of Thrift's compact protocol, enough to skim a footer.
struct Thrift<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Thrift<'_> {
    fn byte(&mut self) -> Skimmed<u8> {
        let b = *some(self.buf.get(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Skimmed<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Skim::Malformed)
    }

    fn varint_signed(&mut self) -> Skimmed<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn binary(&mut self) -> Skimmed<&[u8]> {
        let len = self.varint()?;
        let left = self.buf.len() - self.pos;
        if len > left as u64 {
            return Err(Skim::TooLong { count: len, left });
        }
        let end = self.pos + len as usize;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// A struct field's id and type (type 0: the struct ends).
    fn field_header(&mut self, last: &mut i16) -> Skimmed<(i16, u8)> {
        let b = self.byte()?;
        let ty = b & 0x0f;
        if ty == 0 {
            return Ok((0, 0));
        }
        let delta = i16::from(b >> 4);
        let id = if delta == 0 {
            some(i16::try_from(self.varint_signed()?).ok())?
        } else {
            some(last.checked_add(delta))?
        };
        *last = id;
        Ok((id, ty))
    }

    /// A list's (or set's) length and element type; a length beyond the bytes left is refused.
    fn list_header(&mut self) -> Skimmed<(usize, u8)> {
        let b = self.byte()?;
        let count = match b >> 4 {
            15 => self.varint()?,
            c => u64::from(c),
        };
        let left = self.buf.len() - self.pos;
        if count > left as u64 {
            return Err(Skim::TooLong { count, left });
        }
        Ok((count as usize, b & 0x0f))
    }

    /// Reads a struct of definition `def` (the byte after its last field included), checking that
    /// each known field has its format type; unknown fields are skipped by their written type.
    /// Each schema element read is appended to `schema` as (name, number of children). `depth`
    /// counts the structs and lists this one lies in.
    fn typed_struct(
        &mut self,
        def: &'static Def,
        depth: usize,
        schema: &mut Vec<(String, i64)>,
    ) -> Skimmed<()> {
        if depth > 64 {
            return Err(Skim::Malformed);
        }
        let is_schema = std::ptr::eq(def, &SCHEMA_ELEMENT);
        let (mut name, mut children) = (String::new(), 0i64);
        let mut last = 0i16;
        loop {
            let (id, wire) = self.field_header(&mut last)?;
            if wire == 0 {
                break;
            }
            let Some(&(_, field, ty)) = def.fields.iter().find(|f| f.0 == id) else {
                self.skip(wire, depth + 1)?;
                continue;
            };
            if !ty.accepts(wire) {
                return Err(Skim::WrongType {
                    field: format!("{}.{field}", def.name),
                    found: wire,
                    expected: ty.name(),
                });
            }
            match (is_schema, id) {
                (true, 4) => name = String::from_utf8_lossy(self.binary()?).into_owned(),
                (true, 5) => children = self.varint_signed()?,
                _ => self.typed_value(ty, def.name, field, depth + 1, schema)?,
            }
        }
        if is_schema {
            schema.push((name, children));
        }
        Ok(())
    }

    /// Reads a value of format type `ty`, field `field` of struct `owner`.
    fn typed_value(
        &mut self,
        ty: Ty,
        owner: &str,
        field: &str,
        depth: usize,
        schema: &mut Vec<(String, i64)>,
    ) -> Skimmed<()> {
        match ty {
            // A struct field's boolean lives in its type.
            Ty::Bool => Ok(()),
            Ty::Byte | Ty::I16 | Ty::I32 | Ty::I64 | Ty::Binary => self.skip(ty.wire(), depth),
            Ty::Struct(def) => self.typed_struct(def, depth, schema),
            Ty::List(elem) => {
                let (count, wire) = self.list_header()?;
                if count > 0 && !elem.accepts(wire) {
                    return Err(Skim::WrongType {
                        field: format!("{owner}.{field}[]"),
                        found: wire,
                        expected: elem.name(),
                    });
                }
                for _ in 0..count {
                    match *elem {
                        Ty::Struct(def) => self.typed_struct(def, depth + 1, schema)?,
                        // A list's booleans take a byte each.
                        Ty::Bool => {
                            self.byte()?;
                        }
                        _ => self.typed_value(*elem, owner, field, depth + 1, schema)?,
                    }
                }
                Ok(())
            }
        }
    }

    /// Skips a value of type `ty`; `depth` bounds the nesting of the values skipped (Thrift's own
    /// readers refuse more than 64 levels too).
    fn skip(&mut self, ty: u8, depth: usize) -> Skimmed<()> {
        if depth > 64 {
            return Err(Skim::Malformed);
        }
        match ty {
            // Booleans of a struct field live in the type.
            1 | 2 => {}
            3 => {
                self.byte()?;
            }
            4..=6 => {
                self.varint()?;
            }
            7 => {
                self.pos = some(self.pos.checked_add(8).filter(|&p| p <= self.buf.len()))?;
            }
            8 => {
                self.binary()?;
            }
            9 | 10 => {
                let (count, elem) = self.list_header()?;
                for _ in 0..count {
                    if elem == 1 || elem == 2 {
                        // Booleans of a list take a byte each.
                        self.byte()?;
                    } else {
                        self.skip(elem, depth + 1)?;
                    }
                }
            }
            11 => {
                let count = self.varint()?;
                let left = self.buf.len() - self.pos;
                if count > left as u64 {
                    return Err(Skim::TooLong { count, left });
                }
                if count > 0 {
                    let kv = self.byte()?;
                    for _ in 0..count {
                        for t in [kv >> 4, kv & 0x0f] {
                            if t == 1 || t == 2 {
                                self.byte()?;
                            } else {
                                self.skip(t, depth + 1)?;
                            }
                        }
                    }
                }
            }
            12 => {
                let mut last = 0i16;
                loop {
                    let (_, t) = self.field_header(&mut last)?;
                    if t == 0 {
                        break;
                    }
                    self.skip(t, depth + 1)?;
                }
            }
            _ => return Err(Skim::Malformed),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file around a footer.
    fn file(footer: &[u8]) -> Vec<u8> {
        let mut f = b"PAR1".to_vec();
        f.extend_from_slice(footer);
        f.extend_from_slice(&(footer.len() as u32).to_le_bytes());
        f.extend_from_slice(b"PAR1");
        f
    }

    #[test]
    fn a_footer_list_claiming_more_elements_than_bytes_is_refused() {
        // FileMetaData field 2 (schema): a list of 2^31 - 1 structs in 1 byte; polars reserves
        // room for them all (hundreds of GB) before reading one.
        let bytes = file(&[0x29, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00]);
        let e = check_page_headers(Path::new("f.parquet"), bytes)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.parquet") && e.contains("claims 2147483647 entries in the 1 bytes left"),
            "{e}"
        );
        // The same list with its one element is fine here (polars reports the rest).
        let bytes = file(&[0x29, 0x1c, 0x00, 0x00]);
        assert!(check_page_headers(Path::new("f.parquet"), bytes).is_ok());
    }

    fn refusal(footer: &[u8]) -> String {
        check_page_headers(Path::new("f.parquet"), file(footer))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn footer_fields_written_with_another_type_are_refused() {
        // FileMetaData.num_rows (field 3, i64) written as a binary of one byte.
        let e = refusal(&[0x38, 0x01, 0x41, 0x00]);
        assert!(
            e.contains("footer field FileMetaData.num_rows is written as a binary, but the format makes it an i64"),
            "{e}"
        );
        // The schema list's elements written as i32s instead of structs.
        let e = refusal(&[0x29, 0x15, 0x02, 0x00]);
        assert!(
            e.contains("footer field FileMetaData.schema[] is written as an i32, but the format makes it a struct"),
            "{e}"
        );
        // Deep in the footer: row group 0, column chunk 0, its metadata's statistics, whose
        // is_max_value_exact (field 7) is written as an i32 (polars panicked on it: "thrift bool
        // field").
        let e = refusal(&[
            0x49, 0x1c, // field 4 (row_groups): a list of 1 struct
            0x19, 0x1c, // RowGroup field 1 (columns): a list of 1 struct
            0x3c, // ColumnChunk field 3 (meta_data): a struct
            0xcc, // ColumnMetaData field 12 (statistics): a struct
            0x75, 0x02, // Statistics field 7 as an i32
            0x00, 0x00, 0x00, 0x00, 0x00,
        ]);
        assert!(
            e.contains("footer field Statistics.is_max_value_exact is written as an i32, but the format makes it a bool"),
            "{e}"
        );
        // A logical type's unit (TimestampType field 2, a union) written as a list.
        let e = refusal(&[
            0x29, 0x1c, // schema: a list of 1 element
            0xac, // SchemaElement field 10 (logicalType)
            0x8c, // LogicalType field 8 (TIMESTAMP)
            0x11, // isAdjustedToUTC: true
            0x19, 0x00, // unit, written as an empty list
            0x00, 0x00, 0x00, 0x00,
        ]);
        assert!(
            e.contains("footer field TimestampType.unit is written as a list, but the format makes it a struct"),
            "{e}"
        );
        // Unknown fields keep any type, and known ones with their own type pass.
        let bytes = file(&[0x15, 0x04, 0x98, 0x01, 0x41, 0x16, 0x04, 0x00]);
        assert!(check_page_headers(Path::new("f.parquet"), bytes).is_ok());
    }
}
