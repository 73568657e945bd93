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
//! type says, so a footer that gives a known field another wire type can still put a huge list
//! header where polars reads one (`tests/fuzz-corpus/parquet-open/oom-footer-list`, found by
//! `cargo fuzz run parquet_loader`: 109 GB reserved; not yet refused).

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
    check_schema_depth(path, &bytes)?;
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

/// Refuses a file whose footer's schema nests groups deeper than [`MAX_SCHEMA_DEPTH`], reading the
/// schema list of the footer's Thrift (compact protocol) without recursion. A footer that cannot
/// be read is left to polars.
fn check_schema_depth(path: &Path, bytes: &[u8]) -> Result<()> {
    let schema = match footer_schema(bytes) {
        Ok(schema) => schema,
        Err(Skim::TooLong { count, left }) => {
            return Err(DataError::Unreadable {
                path: path.to_path_buf(),
                message: format!(
                    "not a valid Parquet file (a list, map or string of the footer claims {count} entries in the {left} bytes left)"
                ),
            });
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
            return Err(DataError::Unreadable {
                path: path.to_path_buf(),
                message: format!(
                    "not a valid Parquet file (schema element {name:?} is nested {depth} groups deep; at most {MAX_SCHEMA_DEPTH} are supported)"
                ),
            });
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
}

type Skimmed<T> = std::result::Result<T, Skim>;

fn some<T>(v: Option<T>) -> Skimmed<T> {
    v.ok_or(Skim::Malformed)
}

/// The footer's schema elements as (name, number of children), after checking that no list or map
/// of the footer claims more elements than its bytes can hold (each element takes a byte at least).
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
    let mut out = Vec::new();
    // FileMetaData: field 2 is the schema, list<SchemaElement>.
    let mut last = 0i16;
    loop {
        let (id, ty) = r.field_header(&mut last)?;
        if ty == 0 {
            return Ok(out);
        }
        if id != 2 || ty != 9 {
            r.skip(ty, 0)?;
            continue;
        }
        let (count, elem) = r.list_header()?;
        if elem != 12 {
            return Err(Skim::Malformed);
        }
        for _ in 0..count {
            let (mut name, mut children) = (String::new(), 0i64);
            let mut last = 0i16;
            loop {
                let (id, ty) = r.field_header(&mut last)?;
                match (id, ty) {
                    (_, 0) => break,
                    (4, 8) => name = String::from_utf8_lossy(r.binary()?).into_owned(),
                    (5, 5) => children = r.varint_signed()?,
                    _ => r.skip(ty, 0)?,
                }
            }
            out.push((name, children));
        }
    }
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
}
