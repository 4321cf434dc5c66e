//! The export as an XLSX workbook: one sheet per category, a bold header row, every value
//! written as text (so nothing is taken for a formula).

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::tables::Table;

/// Excel's limit on the characters in one cell.
const MAX_CELL: usize = 32_767;

pub fn render(tables: &[Table]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    for table in tables {
        let sheet = workbook.add_worksheet();
        sheet.set_name(table.title)?;
        for (col, header) in (0u16..).zip(table.headers.iter()) {
            sheet.write_string_with_format(0, col, *header, &bold)?;
            sheet.set_column_width(col, if col < 2 { 26 } else { 30 })?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (row, values) in (1u32..).zip(&table.rows) {
            for (col, value) in (0u16..).zip(values) {
                if value.chars().count() > MAX_CELL {
                    let cut: String = value.chars().take(MAX_CELL - 20).collect();
                    sheet.write_string(row, col, format!("{cut} […see the JSON]"))?;
                } else {
                    sheet.write_string(row, col, value)?;
                }
            }
        }
    }
    workbook.save_to_buffer()
}
