//! Checks a Parquet file's page headers against its footer before polars decodes it.
//!
//! polars-parquet trusts a data page's value count: a page claiming billions of values (or a
//! negative count, read as a huge one) makes the decoder reserve memory it cannot get, and the
//! process aborts on the failed allocation, which no panic guard can catch (found by
//! `cargo fuzz run parquet_loader`; input in `tests/fuzz-corpus/parquet-open/`). Every data page
//! of a flat column holds at most its row group's rows, so a count beyond that is refused here.

use std::io::Cursor;
use std::path::Path;

use polars_buffer::Buffer;
use polars_parquet::parquet::page::CompressedPage;
use polars_parquet::parquet::read::{get_page_iterator, read_metadata};

use crate::error::{DataError, Result};

/// Refuses a file whose column chunks or data pages claim more values than they can hold. A file
/// whose footer or pages cannot be read at all is left to polars, which reports it.
pub(crate) fn check_page_headers(path: &Path, bytes: Vec<u8>) -> Result<()> {
    let len = bytes.len();
    let buffer = Buffer::from(bytes);
    let Ok(meta) = read_metadata(&mut Cursor::new(buffer.clone())) else {
        return Ok(());
    };
    let bad = |what: String| DataError::Unreadable {
        path: path.to_path_buf(),
        message: format!("not a valid Parquet file ({what})"),
    };
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
            for page in pages {
                match page {
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
