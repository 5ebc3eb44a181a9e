//! The XML header of a QVD file: the table's shape (records, record size,
//! where the rows are) and each field's bits and symbol table.
//!
//! Parsed with a real XML reader (names and SQL in `<Statement>` hold
//! entities); elements this reader does not use are skipped, and the ones
//! old writers leave out (`Tags`, `Lineage`, `NumberFormat` …) are not
//! required. Numbers the layout depends on are required and checked.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

/// What the header says about the table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Header {
    /// `<TableName>` (empty when absent).
    pub(crate) table_name: String,
    /// `<CreateUtcTime>` as written (`2021-08-25 20:58:51`), when present
    /// and not empty.
    pub(crate) create_utc_time: Option<String>,
    /// The fields, in the header's order (the order a `LOAD *` gives).
    pub(crate) fields: Vec<FieldHeader>,
    /// Bytes per record of the rows' table.
    pub(crate) record_byte_size: u64,
    /// Rows.
    pub(crate) no_of_records: u64,
    /// Where the rows' table starts, from the first byte after the header.
    pub(crate) offset: u64,
    /// Its length in bytes.
    pub(crate) length: u64,
}

/// What the header says about one field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldHeader {
    /// `<FieldName>`.
    pub(crate) name: String,
    /// First bit of the field's index in a record (bit 0: lowest bit of the
    /// record's first byte).
    pub(crate) bit_offset: u64,
    /// Bits of the index (0: every row holds symbol `Bias`, normally 0).
    pub(crate) bit_width: u64,
    /// Added to the stored bits; a negative sum is NULL.
    pub(crate) bias: i64,
    /// Entries of the symbol table.
    pub(crate) no_of_symbols: u64,
    /// Where the symbol table starts, from the first byte after the header.
    pub(crate) offset: u64,
    /// Its length in bytes.
    pub(crate) length: u64,
    /// `<NumberFormat><Type>` (`UNKNOWN`, `DATE`, `MONEY` …; empty when
    /// absent): how Qlik shows the field's pure numbers.
    pub(crate) number_format: String,
}

/// The widest index a field may have: the rows are decoded through 128-bit
/// windows, at most 7 bits off a byte boundary.
pub(crate) const MAX_BIT_WIDTH: u64 = 64;

/// Parses the header (the bytes before the first NUL). The error says what
/// is wrong, in lower case.
pub(crate) fn parse(xml: &[u8]) -> Result<Header, String> {
    let text = std::str::from_utf8(xml).map_err(|e| {
        format!(
            "the header is not UTF-8 text (bad byte at {})",
            e.valid_up_to()
        )
    })?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    // Text of the element being read (leaves only matter).
    let mut leaf = String::new();
    let mut root: HashMap<String, String> = HashMap::new();
    let mut fields: Vec<HashMap<String, String>> = Vec::new();
    let mut saw_root = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "the header is not valid XML: {e} (at byte {})",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(s) => {
                let name = s.name().as_ref().to_string();
                if stack.is_empty() {
                    if name != "QvdTableHeader" {
                        return Err(format!(
                            "the header's root element is `<{name}>`, not `<QvdTableHeader>`"
                        ));
                    }
                    saw_root = true;
                }
                stack.push(name);
                if is_path(&stack, &["QvdTableHeader", "Fields", "QvdFieldHeader"]) {
                    fields.push(HashMap::new());
                }
                leaf.clear();
            }
            Event::Empty(s) => {
                // `<Tags/>`: an element with no text.
                let name = s.name().as_ref().to_string();
                if stack.is_empty() {
                    if name != "QvdTableHeader" {
                        return Err(format!(
                            "the header's root element is `<{name}/>`, not `<QvdTableHeader>`"
                        ));
                    }
                    saw_root = true;
                }
                leaf.clear();
                store(&stack, &name, "", &mut root, &mut fields);
            }
            Event::End(e) => {
                let name = e.name().as_ref().to_string();
                stack.pop();
                store(&stack, &name, &leaf, &mut root, &mut fields);
                leaf.clear();
            }
            Event::Text(t) => leaf.push_str(&t.xml10_content()),
            Event::CData(c) => leaf.push_str(&c),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match resolve_predefined_entity(&r) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err(format!(
                                "the header is not valid XML: unknown entity `&{};` (at byte {})",
                                &*r,
                                reader.buffer_position()
                            ));
                        }
                    },
                    Err(e) => {
                        return Err(format!(
                            "the header is not valid XML: {e} (at byte {})",
                            reader.buffer_position()
                        ));
                    }
                };
                leaf.push_str(&resolved);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!(
            "the header is not valid XML: `<{open}>` is never closed"
        ));
    }
    if !saw_root {
        return Err(String::from("the header has no `<QvdTableHeader>` element"));
    }
    let mut header = Header {
        table_name: root.remove("TableName").unwrap_or_default(),
        create_utc_time: root
            .remove("CreateUtcTime")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty()),
        record_byte_size: number(&root, "RecordByteSize", None)?,
        no_of_records: number(&root, "NoOfRecords", None)?,
        offset: number(&root, "Offset", None)?,
        length: number(&root, "Length", None)?,
        fields: Vec::with_capacity(fields.len()),
    };
    for (i, f) in fields.iter().enumerate() {
        let Some(name) = f.get("FieldName") else {
            return Err(format!(
                "field {} of the header has no `<FieldName>`",
                i + 1
            ));
        };
        let at = Some(name.as_str());
        let field = FieldHeader {
            name: name.clone(),
            bit_offset: number(f, "BitOffset", at)?,
            bit_width: number(f, "BitWidth", at)?,
            bias: match f.get("Bias").map(|b| b.trim()) {
                None | Some("") => 0,
                Some(b) => b.parse().map_err(|_| {
                    format!("field `{name}`: `<Bias>` is `{b}`, not a whole number")
                })?,
            },
            no_of_symbols: number(f, "NoOfSymbols", at)?,
            offset: number(f, "Offset", at)?,
            length: number(f, "Length", at)?,
            number_format: f
                .get("NumberFormat/Type")
                .map(|t| t.trim().to_string())
                .unwrap_or_default(),
        };
        if field.bit_width > MAX_BIT_WIDTH {
            return Err(format!(
                "field `{name}`: `<BitWidth>` is {}, more than the {MAX_BIT_WIDTH} bits an index can have",
                field.bit_width
            ));
        }
        header.fields.push(field);
    }
    Ok(header)
}

/// True when the open elements are exactly `path`.
fn is_path(stack: &[String], path: &[&str]) -> bool {
    stack.len() == path.len() && stack.iter().zip(path).all(|(a, b)| a == b)
}

/// Keeps the text of element `name`, closed inside `stack`, when it is a
/// child of the root or of a field header.
fn store(
    stack: &[String],
    name: &str,
    text: &str,
    root: &mut HashMap<String, String>,
    fields: &mut [HashMap<String, String>],
) {
    if is_path(stack, &["QvdTableHeader"]) {
        root.insert(name.to_string(), text.to_string());
    } else if is_path(stack, &["QvdTableHeader", "Fields", "QvdFieldHeader"])
        && let Some(f) = fields.last_mut()
    {
        f.insert(name.to_string(), text.to_string());
    } else if is_path(
        stack,
        &["QvdTableHeader", "Fields", "QvdFieldHeader", "NumberFormat"],
    ) && let Some(f) = fields.last_mut()
    {
        f.insert(format!("NumberFormat/{name}"), text.to_string());
    }
}

/// A required non-negative number of the header (of field `field`, or of
/// the table).
fn number(map: &HashMap<String, String>, name: &str, field: Option<&str>) -> Result<u64, String> {
    let whose = match field {
        Some(f) => format!("field `{f}`: "),
        None => String::new(),
    };
    match map.get(name).map(|t| t.trim()) {
        None => Err(format!("{whose}the header has no `<{name}>`")),
        Some(t) => t
            .parse()
            .map_err(|_| format!("{whose}`<{name}>` is `{t}`, not a whole number of 0 or more")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n\
        <QvdTableHeader><TableName>A &amp; B&#33;</TableName>\
        <CreateUtcTime>2021-08-25 20:58:51</CreateUtcTime>\
        <Fields><QvdFieldHeader><FieldName>F</FieldName><BitOffset>0</BitOffset>\
        <BitWidth>2</BitWidth><Bias>-2</Bias><NoOfSymbols>1</NoOfSymbols>\
        <Offset>0</Offset><Length>3</Length><Tags/></QvdFieldHeader></Fields>\
        <RecordByteSize>1</RecordByteSize><NoOfRecords>2</NoOfRecords>\
        <Offset>3</Offset><Length>2</Length>\
        <Lineage><LineageInfo><Statement>SELECT 1 &lt; 2</Statement></LineageInfo></Lineage>\
        </QvdTableHeader>\r\n";

    #[test]
    fn a_header_without_optional_elements_parses() {
        let h = parse(MINIMAL.as_bytes()).unwrap();
        assert_eq!(h.table_name, "A & B!");
        assert_eq!(h.create_utc_time.as_deref(), Some("2021-08-25 20:58:51"));
        assert_eq!((h.record_byte_size, h.no_of_records), (1, 2));
        // The root's Offset, not a field's nor the lineage's.
        assert_eq!((h.offset, h.length), (3, 2));
        assert_eq!(
            h.fields,
            vec![FieldHeader {
                name: String::from("F"),
                bit_offset: 0,
                bit_width: 2,
                bias: -2,
                no_of_symbols: 1,
                offset: 0,
                length: 3,
                number_format: String::new(),
            }]
        );
    }

    #[test]
    fn broken_headers_say_what_is_wrong() {
        let cut = MINIMAL.replace("<QvdTableHeader>", "");
        let e = parse(cut.as_bytes()).unwrap_err();
        assert!(e.contains("root element is `<TableName>`"), "{e}");
        let unclosed = MINIMAL.replace("</QvdTableHeader>", "");
        let e = parse(unclosed.as_bytes()).unwrap_err();
        assert!(e.contains("never closed"), "{e}");
        let mismatched = MINIMAL.replace("</Fields>", "</Field>");
        let e = parse(mismatched.as_bytes()).unwrap_err();
        assert!(e.starts_with("the header is not valid XML"), "{e}");
        let no_records = MINIMAL.replace("<NoOfRecords>2</NoOfRecords>", "");
        assert_eq!(
            parse(no_records.as_bytes()).unwrap_err(),
            "the header has no `<NoOfRecords>`"
        );
        let bad_width = MINIMAL.replace("<BitWidth>2<", "<BitWidth>x<");
        assert_eq!(
            parse(bad_width.as_bytes()).unwrap_err(),
            "field `F`: `<BitWidth>` is `x`, not a whole number of 0 or more"
        );
        let wide = MINIMAL.replace("<BitWidth>2<", "<BitWidth>65<");
        assert!(parse(wide.as_bytes()).unwrap_err().contains("65"));
        assert!(
            parse(b"\xff<QvdTableHeader/>")
                .unwrap_err()
                .contains("UTF-8")
        );
        assert!(parse(b"").unwrap_err().contains("no `<QvdTableHeader>`"));
    }
}
