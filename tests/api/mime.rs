//! MIME detection: every binary format of `api.md`'s table is named by its magic bytes, as the
//! `infer` crate names it, and served back under that type; text is never sniffed.

use std::io::Write;

use crate::support::TestServer;

/// A small, well-formed file of one format in the table, and the type `infer` 0.22 names it.
struct Sample {
    format: &'static str,
    mime: &'static str,
    content: Vec<u8>,
}

/// One sample of every format in `api.md`'s "MIME Type Detection" table.
fn samples() -> Vec<Sample> {
    let sample = |format, mime, content| Sample {
        format,
        mime,
        content,
    };
    vec![
        // Images
        sample("PNG", "image/png", png()),
        sample("JPEG", "image/jpeg", jpeg()),
        sample("GIF", "image/gif", GIF.to_vec()),
        sample("WebP", "image/webp", WEBP.to_vec()),
        sample("BMP", "image/bmp", bmp()),
        sample("TIFF", "image/tiff", tiff()),
        sample("ICO", "image/vnd.microsoft.icon", ico()),
        // Video
        sample("MP4", "video/mp4", mp4()),
        sample("WebM", "video/webm", ebml("webm")),
        sample("FLV", "video/x-flv", FLV.to_vec()),
        sample("Matroska", "video/x-matroska", ebml("matroska")),
        // Audio
        sample("MP3 with an ID3v2 tag", "audio/mpeg", mp3(true)),
        sample("MP3 without a tag", "audio/mpeg", mp3(false)),
        sample("FLAC", "audio/x-flac", flac()),
        sample("OGG (Vorbis)", "audio/ogg", ogg_vorbis()),
        // Documents
        sample("PDF", "application/pdf", pdf()),
        sample("DOC", "application/msword", doc()),
        sample("XLS", "application/vnd.ms-excel", xls()),
        sample("PPT", "application/vnd.ms-powerpoint", ppt()),
        sample(
            "DOCX",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            docx(),
        ),
        sample(
            "XLSX",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx(),
        ),
        sample("ODT", "application/vnd.oasis.opendocument.text", odt()),
        // Executables
        sample(
            "EXE (PE)",
            "application/vnd.microsoft.portable-executable",
            pe(false),
        ),
        sample(
            "DLL (PE)",
            "application/vnd.microsoft.portable-executable",
            pe(true),
        ),
        sample("ELF", "application/x-executable", elf()),
        sample("Mach-O", "application/x-mach-binary", mach_o()),
        sample("WASM", "application/wasm", WASM.to_vec()),
        // Archives
        sample(
            "ZIP",
            "application/zip",
            zip(&[("hello.txt", GREETING), ("notes/todo.txt", b"nothing\n")]),
        ),
        sample("GZIP", "application/gzip", gzip("hello.txt", GREETING)),
        sample("BZIP2", "application/x-bzip2", BZIP2.to_vec()),
        sample("XZ", "application/x-xz", XZ.to_vec()),
        sample("ZSTD", "application/zstd", ZSTD.to_vec()),
        sample("LZ4", "application/x-lz4", LZ4.to_vec()),
        sample("7z", "application/x-7z-compressed", seven_zip()),
        sample("RAR", "application/vnd.rar", rar5()),
        // Data
        sample("SQLite", "application/vnd.sqlite3", sqlite()),
    ]
}

/// A server that lets one client create every sample: rate limiting is off.
async fn unlimited_server() -> TestServer {
    TestServer::start_with(&[("FLASKPASTE_RATE_LIMIT", "0")]).await
}

/// Posts `sample`, which must be created; answers the type it was stored as and its raw read.
async fn paste(
    server: &TestServer,
    sample: &Sample,
    headers: &[(&str, &str)],
) -> (String, reqwest::Response) {
    let (status, created) = server.post(sample.content.clone(), headers).await;
    assert_eq!(status, 201, "{} was not created: {created}", sample.format);
    let raw = server.get(created["raw"].as_str().unwrap()).await;
    (created["mime_type"].as_str().unwrap().to_owned(), raw)
}

/// A response header's value, or "" when it is missing.
fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_format_in_the_table_is_named_by_its_magic_bytes_and_served_back_unchanged() {
    let server = unlimited_server().await;

    for sample in samples() {
        let (mime_type, raw) = paste(&server, &sample, &[]).await;
        let content_type = header(&raw, "content-type");
        let body = raw.bytes().await.unwrap();

        assert_eq!(mime_type, sample.mime, "{} stored as", sample.format);
        assert_eq!(content_type, sample.mime, "{} served as", sample.format);
        assert!(
            body == sample.content,
            "{} came back changed: {} bytes sent, {} read",
            sample.format,
            sample.content.len(),
            body.len()
        );
    }
}

#[tokio::test]
async fn magic_bytes_win_over_a_misleading_declared_type() {
    let server = unlimited_server().await;

    for sample in samples() {
        let (mime_type, raw) = paste(&server, &sample, &[("Content-Type", "text/plain")]).await;

        assert_eq!(
            mime_type, sample.mime,
            "{} declared text/plain",
            sample.format
        );
        assert_eq!(
            header(&raw, "content-type"),
            sample.mime,
            "{}",
            sample.format
        );
    }
}

#[tokio::test]
async fn images_are_shown_inline_and_every_other_binary_is_an_attachment() {
    let server = unlimited_server().await;

    for sample in samples() {
        let expected = if sample.mime.starts_with("image/") {
            "inline"
        } else {
            "attachment"
        };

        let (_, raw) = paste(&server, &sample, &[]).await;

        assert_eq!(
            header(&raw, "content-disposition"),
            expected,
            "{} ({})",
            sample.format,
            sample.mime
        );
    }
}

#[tokio::test]
async fn pasted_html_xml_and_shell_scripts_stay_plain_text() {
    let server = unlimited_server().await;
    let snippets = [
        "<!DOCTYPE html><html><head><title>t</title></head><body><p>hi</p></body></html>\n",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<note><to>you</to></note>\n",
        "#!/bin/sh\necho hello\n",
    ];

    for snippet in snippets {
        let (status, created) = server.post(snippet, &[]).await;
        let raw = server.get(created["raw"].as_str().unwrap()).await;

        assert_eq!(status, 201, "{snippet}");
        assert_eq!(created["mime_type"], "text/plain", "{snippet}");
        assert_eq!(
            header(&raw, "content-type"),
            "text/plain; charset=utf-8",
            "{snippet}"
        );
        assert_eq!(header(&raw, "content-disposition"), "inline", "{snippet}");
        assert_eq!(raw.text().await.unwrap(), snippet);
    }
}

// Samples. Each is a complete, minimal file of its format where that fits in a few lines (with
// real checksums), else a well-formed header; `infer` only reads the leading bytes, except for
// OLE documents (the root storage's CLSID) and OOXML (the names of the first four zip entries).

const GREETING: &[u8] = b"hello from flaskpaste\n";

/// A 1x1 GIF89a with a two-colour palette.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\
    \x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

/// A 1x1 lossless WebP (`RIFF` size, `WEBP`, one `VP8L` chunk).
const WEBP: &[u8] = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\
    \x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00";

/// An FLV header (audio and video) and the zero first `PreviousTagSize`.
const FLV: &[u8] = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00";

/// A module exporting an empty function `run`.
const WASM: &[u8] = b"\0asm\x01\x00\x00\x00\
    \x01\x04\x01\x60\x00\x00\
    \x03\x02\x01\x00\
    \x07\x07\x01\x03run\x00\x00\
    \x0a\x04\x01\x02\x00\x0b";

/// `printf 'hello from flaskpaste\n' | bzip2 -9`
const BZIP2: &[u8] = &[
    0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x2d, 0x82, 0x32, 0x16, 0x00, 0x00,
    0x04, 0xd1, 0x80, 0x00, 0x10, 0x40, 0x00, 0x23, 0x4e, 0xdc, 0x00, 0x20, 0x00, 0x31, 0x00, 0x00,
    0x08, 0x81, 0xa3, 0xc4, 0x6a, 0x6c, 0x12, 0x9a, 0x10, 0x1d, 0x20, 0x72, 0xdc, 0xb8, 0xf7, 0xc5,
    0xdc, 0x91, 0x4e, 0x14, 0x24, 0x0b, 0x60, 0x8c, 0x85, 0x80,
];

/// `printf 'hello from flaskpaste\n' | xz`
const XZ: &[u8] = &[
    0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04, 0xe6, 0xd6, 0xb4, 0x46, 0x02, 0x00, 0x21, 0x01,
    0x16, 0x00, 0x00, 0x00, 0x74, 0x2f, 0xe5, 0xa3, 0x01, 0x00, 0x15, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
    0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20, 0x66, 0x6c, 0x61, 0x73, 0x6b, 0x70, 0x61, 0x73, 0x74, 0x65,
    0x0a, 0x00, 0x00, 0x00, 0x36, 0xd5, 0xa6, 0x01, 0x7a, 0x04, 0xca, 0x8b, 0x00, 0x01, 0x2e, 0x16,
    0x56, 0x09, 0x55, 0xdf, 0x1f, 0xb6, 0xf3, 0x7d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04, 0x59, 0x5a,
];

/// `printf 'hello from flaskpaste\n' | zstd`
const ZSTD: &[u8] = &[
    0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x16, 0xb1, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x66,
    0x72, 0x6f, 0x6d, 0x20, 0x66, 0x6c, 0x61, 0x73, 0x6b, 0x70, 0x61, 0x73, 0x74, 0x65, 0x0a, 0x6b,
    0x2b, 0x9a, 0xa1,
];

/// `printf 'hello from flaskpaste\n' | lz4`
const LZ4: &[u8] = &[
    0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 0x16, 0x00, 0x00, 0x80, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
    0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20, 0x66, 0x6c, 0x61, 0x73, 0x6b, 0x70, 0x61, 0x73, 0x74, 0x65,
    0x0a, 0x00, 0x00, 0x00, 0x00, 0xb0, 0xa6, 0x61, 0x56,
];

fn le16(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap().to_le_bytes()
}

fn le32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap().to_le_bytes()
}

fn be32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap().to_be_bytes()
}

/// CRC-32 (IEEE), as zip, gzip, PNG, 7z and RAR use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `data` as one final, stored (uncompressed) deflate block.
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x01];
    out.extend(le16(data.len()));
    out.extend(le16(!data.len() & 0xffff));
    out.extend(data);
    out
}

/// A 1x1 RGBA PNG: signature, `IHDR`, a zlib-wrapped `IDAT`, `IEND`, with their CRCs.
fn png() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend(be32(data.len()));
        let start = out.len();
        out.extend(kind);
        out.extend(data);
        let crc = crc32(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    let scanline = [0, 0x2a, 0x7f, 0xd4, 0xff];
    let adler = {
        let (a, b) = scanline.iter().fold((1u32, 0u32), |(a, b), &byte| {
            let a = (a + u32::from(byte)) % 65_521;
            (a, (b + a) % 65_521)
        });
        (b << 16) | a
    };
    let mut idat = vec![0x78, 0x01];
    idat.extend(deflate_stored(&scanline));
    idat.extend(adler.to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A JFIF header: start of image, `APP0` "JFIF" 1.01, a comment, end of image.
fn jpeg() -> Vec<u8> {
    let mut out = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec();
    let comment = b"flaskpaste";
    out.extend([0xff, 0xfe]);
    out.extend(u16::try_from(comment.len() + 2).unwrap().to_be_bytes());
    out.extend(comment);
    out.extend([0xff, 0xd9]);
    out
}

/// A 1x1 24-bit BMP: file header, `BITMAPINFOHEADER`, one padded row.
fn bmp() -> Vec<u8> {
    let mut out = b"BM".to_vec();
    out.extend(le32(14 + 40 + 4));
    out.extend([0; 4]);
    out.extend(le32(14 + 40));
    out.extend(le32(40));
    out.extend(le32(1)); // width
    out.extend(le32(1)); // height
    out.extend(le16(1)); // planes
    out.extend(le16(24)); // bits per pixel
    out.extend(le32(0)); // BI_RGB
    out.extend(le32(4)); // image size
    out.extend(le32(2835)); // 72 dpi
    out.extend(le32(2835));
    out.extend([0; 8]); // palette sizes
    out.extend([0xd4, 0x7f, 0x2a, 0x00]); // one BGR pixel and padding
    out
}

/// A 1x1 8-bit greyscale little-endian TIFF: header, one IFD of eight entries, one strip.
fn tiff() -> Vec<u8> {
    let entries: [(u16, u16, usize); 8] = [
        (256, 3, 1),       // ImageWidth
        (257, 3, 1),       // ImageLength
        (258, 3, 8),       // BitsPerSample
        (259, 3, 1),       // Compression: none
        (262, 3, 1),       // PhotometricInterpretation: black is zero
        (273, 4, 8 + 102), // StripOffsets: after the IFD
        (278, 3, 1),       // RowsPerStrip
        (279, 4, 1),       // StripByteCounts
    ];
    let mut out = b"II*\x00".to_vec();
    out.extend(le32(8));
    out.extend(le16(entries.len()));
    for (tag, kind, value) in entries {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(le32(1));
        out.extend(le32(value));
    }
    out.extend(le32(0)); // no next IFD
    out.push(0x80);
    out
}

/// An icon directory of one 1x1 entry holding a PNG, as Windows Vista and later write them.
fn ico() -> Vec<u8> {
    let image = png();
    let mut out = vec![0, 0, 1, 0, 1, 0]; // reserved, type icon, one image
    out.extend([1, 1, 0, 0]); // 1x1, no palette
    out.extend(le16(1)); // planes
    out.extend(le16(32)); // bits per pixel
    out.extend(le32(image.len()));
    out.extend(le32(6 + 16));
    out.extend(image);
    out
}

/// An ISO base media file: `ftyp` (isom), `free`, and a small `mdat`.
fn mp4() -> Vec<u8> {
    let mut out = be32(32).to_vec();
    out.extend(b"ftypisom\x00\x00\x02\x00isomiso2avc1mp41");
    out.extend(be32(8));
    out.extend(b"free");
    out.extend(be32(8 + 8));
    out.extend(b"mdat");
    out.extend([0, 0, 0, 2, 0x09, 0x10, 0, 0]); // an access unit delimiter NAL
    out
}

/// An EBML header with `doc_type`, a Segment with its Info, and a Void element (WebM and
/// Matroska differ only in the DocType; `infer` wants more than 256 bytes).
fn ebml(doc_type: &str) -> Vec<u8> {
    fn element(out: &mut Vec<u8>, id: &[u8], data: &[u8]) {
        out.extend(id);
        out.push(0x80 | u8::try_from(data.len()).unwrap()); // one-byte size, < 127
        out.extend(data);
    }
    let mut header = Vec::new();
    element(&mut header, &[0x42, 0x86], &[1]); // EBMLVersion
    element(&mut header, &[0x42, 0xf7], &[1]); // EBMLReadVersion
    element(&mut header, &[0x42, 0xf2], &[4]); // EBMLMaxIDLength
    element(&mut header, &[0x42, 0xf3], &[8]); // EBMLMaxSizeLength
    element(&mut header, &[0x42, 0x82], doc_type.as_bytes()); // DocType
    element(&mut header, &[0x42, 0x87], &[4]); // DocTypeVersion
    element(&mut header, &[0x42, 0x85], &[2]); // DocTypeReadVersion
    let mut info = Vec::new();
    element(&mut info, &[0x2a, 0xd7, 0xb1], &[0x0f, 0x42, 0x40]); // TimestampScale: 1 ms
    element(&mut info, &[0x4d, 0x80], b"flaskpaste tests"); // MuxingApp
    element(&mut info, &[0x57, 0x41], b"flaskpaste tests"); // WritingApp

    let mut out = Vec::new();
    element(&mut out, &[0x1a, 0x45, 0xdf, 0xa3], &header);
    out.extend([0x18, 0x53, 0x80, 0x67]); // Segment, unknown size
    out.extend([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    element(&mut out, &[0x15, 0x49, 0xa9, 0x66], &info);
    out.extend([0xec, 0x41, 0x00]); // Void, two-byte size 256
    out.extend([0; 256]);
    out
}

/// One silent MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz), optionally after an ID3v2.4 tag
/// with a title.
fn mp3(tagged: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if tagged {
        let title = b"\x03flaskpaste";
        let mut frame = b"TIT2".to_vec();
        frame.extend(be32(title.len())); // syncsafe, as it is under 128
        frame.extend([0, 0]);
        frame.extend(title);
        out.extend(b"ID3\x04\x00\x00");
        out.extend(be32(frame.len()));
        out.extend(frame);
    }
    out.extend([0xff, 0xfb, 0x90, 0x64]);
    out.extend([0; 417 - 4]);
    out
}

/// A FLAC stream marker and its one (last) `STREAMINFO` block: 44.1 kHz, stereo, 16 bits.
fn flac() -> Vec<u8> {
    let mut out = b"fLaC\x80\x00\x00\x22".to_vec();
    out.extend(4096u16.to_be_bytes()); // minimum block size
    out.extend(4096u16.to_be_bytes()); // maximum block size
    out.extend([0; 6]); // frame sizes unknown
    out.extend(((44_100u64 << 44) | (1 << 41) | (15 << 36)).to_be_bytes());
    out.extend([0; 16]); // MD5 of no samples
    out
}

/// The first page of an Ogg Vorbis stream: its identification header, with the page's CRC.
fn ogg_vorbis() -> Vec<u8> {
    let mut packet = b"\x01vorbis".to_vec();
    packet.extend(le32(0)); // version
    packet.push(2); // channels
    packet.extend(le32(44_100));
    packet.extend(le32(0)); // maximum bitrate
    packet.extend(le32(128_000)); // nominal bitrate
    packet.extend(le32(0)); // minimum bitrate
    packet.push(0xb8); // block sizes 256 and 2048
    packet.push(1); // framing

    let mut page = b"OggS\x00\x02".to_vec(); // version 0, beginning of stream
    page.extend([0; 8]); // granule position
    page.extend(le32(0x464c_5350)); // serial number
    page.extend(le32(0)); // page sequence
    page.extend([0; 4]); // CRC, filled below
    page.push(1);
    page.push(u8::try_from(packet.len()).unwrap());
    page.extend(packet);
    let mut crc = 0u32;
    for &byte in &page {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 == 0 {
                crc << 1
            } else {
                (crc << 1) ^ 0x04c1_1db7
            };
        }
    }
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

/// A one-page PDF 1.4 with its binary marker comment, cross-reference table and trailer.
fn pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>",
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (number, object) in (1..).zip(objects) {
        offsets.push(out.len());
        write!(out, "{number} 0 obj\n{object}\nendobj\n").unwrap();
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for offset in offsets {
        writeln!(out, "{offset:010} 00000 n ").unwrap();
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    )
    .unwrap();
    out
}

/// An OLE compound file (version 3, as Office 97-2003 writes) whose root storage has `clsid`
/// and holds `streams`.
fn compound_file(clsid: u128, streams: &[(&str, &[u8])]) -> Vec<u8> {
    let mut file =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, std::io::Cursor::new(Vec::new()))
            .unwrap();
    file.set_storage_clsid("/", uuid::Uuid::from_u128(clsid))
        .unwrap();
    for (name, data) in streams {
        file.create_stream(name).unwrap().write_all(data).unwrap();
    }
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// A Word 97 document: Word's CLSID, a `WordDocument` stream opening with its FIB magic.
fn doc() -> Vec<u8> {
    let mut fib = vec![0xec, 0xa5, 0xc1, 0x00]; // wIdent, nFib (Word 97)
    fib.resize(1472, 0);
    compound_file(
        0x0002_0906_0000_0000_c000_0000_0000_0046,
        &[("WordDocument", &fib), ("1Table", &[0; 512])],
    )
}

/// An Excel 97 workbook: Excel's CLSID, a `Workbook` stream of a BIFF8 `BOF` and `EOF` record.
fn xls() -> Vec<u8> {
    let workbook = [
        0x09, 0x08, 0x10, 0x00, // BOF, 16 bytes
        0x00, 0x06, 0x05, 0x00, // BIFF8, workbook globals
        0x54, 0x38, 0xcd, 0x07, 0xc1, 0x00, 0x01, 0x00, 0x06, 0x04, 0x00, 0x00, //
        0x0a, 0x00, 0x00, 0x00, // EOF
    ];
    compound_file(
        0x0002_0820_0000_0000_c000_0000_0000_0046,
        &[("Workbook", &workbook)],
    )
}

/// A PowerPoint 97 presentation: PowerPoint's CLSID, a `PowerPoint Document` stream holding an
/// empty `DocumentContainer` record, and a `Current User` stream.
fn ppt() -> Vec<u8> {
    let document = [0x0f, 0x00, 0xe8, 0x03, 0x00, 0x00, 0x00, 0x00];
    compound_file(
        0x6481_8d10_4f9b_11cf_86ea_00aa_00b9_29e8,
        &[
            ("PowerPoint Document", &document),
            ("Current User", &[0; 32]),
        ],
    )
}

/// A zip archive of stored (uncompressed) entries: local headers, central directory, end record.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    const VERSION_FLAGS_METHOD: [u8; 6] = [20, 0, 0, 0, 0, 0]; // 2.0, no flags, stored
    const TIME_DATE: [u8; 4] = [0x00, 0x60, 0x5a, 0x5a]; // 2025-02-26 12:00
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, data) in entries {
        let fields = [
            &VERSION_FLAGS_METHOD[..],
            &TIME_DATE,
            &crc32(data).to_le_bytes(),
            &le32(data.len()),
            &le32(data.len()),
            &le16(name.len()),
            &[0, 0], // extra field length
        ]
        .concat();
        directory.extend(b"PK\x01\x02\x14\x03"); // made by 2.0 on Unix
        directory.extend(&fields);
        directory.extend([0; 10]); // comment, disk, attributes
        directory.extend(le32(out.len()));
        directory.extend(name.as_bytes());
        out.extend(b"PK\x03\x04");
        out.extend(&fields);
        out.extend(name.as_bytes());
        out.extend(*data);
    }
    let directory_offset = out.len();
    out.extend(&directory);
    out.extend(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend(le16(entries.len()));
    out.extend(le16(entries.len()));
    out.extend(le32(directory.len()));
    out.extend(le32(directory_offset));
    out.extend([0, 0]);
    out
}

const RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="TARGET"/></Relationships>"#;

fn content_types(main: &str, content_type: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/{main}" ContentType="{content_type}"/></Types>"#
    )
    .into_bytes()
}

/// A Word document in Word's entry order: content types, package relationships, then `word/`.
fn docx() -> Vec<u8> {
    let types = content_types(
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    );
    let rels = String::from_utf8_lossy(RELS).replace("TARGET", "word/document.xml");
    zip(&[
        ("[Content_Types].xml", &types),
        ("_rels/.rels", rels.as_bytes()),
        ("word/_rels/document.xml.rels", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>"#),
        ("word/document.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>hello</w:t></w:r></w:p></w:body></w:document>"#),
    ])
}

/// An Excel workbook in Excel's entry order: content types, package relationships, then `xl/`.
fn xlsx() -> Vec<u8> {
    let types = content_types(
        "xl/workbook.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    );
    let rels = String::from_utf8_lossy(RELS).replace("TARGET", "xl/workbook.xml");
    zip(&[
        ("[Content_Types].xml", &types),
        ("_rels/.rels", rels.as_bytes()),
        ("xl/_rels/workbook.xml.rels", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#),
        ("xl/workbook.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ("xl/worksheets/sheet1.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>"#),
    ])
}

/// An OpenDocument text: the stored `mimetype` entry first, then content and manifest.
fn odt() -> Vec<u8> {
    zip(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", br#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:body><office:text><text:p>hello</text:p></office:text></office:body></office:document-content>"#),
        ("META-INF/manifest.xml", br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#),
    ])
}

/// An x86-64 PE image without sections: DOS header and stub, `PE` signature, COFF header and a
/// PE32+ optional header; `dll` sets the DLL characteristic.
fn pe(dll: bool) -> Vec<u8> {
    let mut out = vec![0; 0x80];
    out[..2].copy_from_slice(b"MZ");
    out[0x3c..0x40].copy_from_slice(&le32(0x80)); // e_lfanew
    let stub = b"This program cannot be run in DOS mode.\r\r\n$";
    out[0x4e..0x4e + stub.len()].copy_from_slice(stub);
    out.extend(b"PE\0\0");
    out.extend(0x8664u16.to_le_bytes()); // machine: x86-64
    out.extend(le16(0)); // sections
    out.extend(le32(0x6700_0000)); // timestamp
    out.extend([0; 8]); // no symbol table
    out.extend(le16(0xf0)); // optional header size
    let characteristics: u16 = if dll { 0x2022 } else { 0x0022 };
    out.extend(characteristics.to_le_bytes());
    let mut optional = vec![0; 0xf0];
    optional[..2].copy_from_slice(&0x020bu16.to_le_bytes()); // PE32+
    optional[0x44..0x46].copy_from_slice(&le16(3)); // subsystem: console
    out.extend(optional);
    out
}

/// An x86-64 ELF executable header and one loadable program header.
fn elf() -> Vec<u8> {
    let mut out = b"\x7fELF\x02\x01\x01\x00".to_vec(); // 64-bit, little-endian, SysV
    out.extend([0; 8]);
    out.extend(le16(2)); // executable
    out.extend(le16(0x3e)); // x86-64
    out.extend(le32(1));
    out.extend(0x40_1000u64.to_le_bytes()); // entry
    out.extend(64u64.to_le_bytes()); // program headers
    out.extend(0u64.to_le_bytes()); // no section headers
    out.extend(le32(0)); // flags
    out.extend(le16(64)); // header size
    out.extend(le16(56)); // program header size
    out.extend(le16(1)); // program headers
    out.extend(le16(64)); // section header size
    out.extend([0; 4]); // no sections, no names
    out.extend(le32(1)); // PT_LOAD
    out.extend(le32(5)); // readable, executable
    out.extend(0u64.to_le_bytes()); // offset
    out.extend(0x40_0000u64.to_le_bytes()); // virtual address
    out.extend(0x40_0000u64.to_le_bytes()); // physical address
    out.extend(120u64.to_le_bytes()); // file size
    out.extend(120u64.to_le_bytes()); // memory size
    out.extend(0x1000u64.to_le_bytes()); // alignment
    out
}

/// A 64-bit x86-64 Mach-O executable header with one `LC_UUID` load command.
fn mach_o() -> Vec<u8> {
    let mut out = 0xfeed_facfu32.to_le_bytes().to_vec();
    out.extend(0x0100_0007u32.to_le_bytes()); // CPU_TYPE_X86_64
    out.extend(le32(3)); // CPU_SUBTYPE_X86_64_ALL
    out.extend(le32(2)); // MH_EXECUTE
    out.extend(le32(1)); // load commands
    out.extend(le32(24)); // their size
    out.extend(le32(0)); // flags
    out.extend(le32(0)); // reserved
    out.extend(le32(0x1b)); // LC_UUID
    out.extend(le32(24));
    out.extend(0x5d1c_a2b3_0e4f_4a5b_8c6d_7e8f_9a0b_1c2du128.to_be_bytes());
    out
}

/// A gzip member holding `data` as a stored deflate block, with its name, CRC and size.
fn gzip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 0x08, 0x08]; // deflate, file name present
    out.extend(le32(0x6700_0000)); // modification time
    out.extend([0x00, 0x03]); // no extra flags, Unix
    out.extend(name.as_bytes());
    out.push(0);
    out.extend(deflate_stored(data));
    out.extend(crc32(data).to_le_bytes());
    out.extend(le32(data.len()));
    out
}

/// A 7z archive of one empty file: signature header (with its CRCs) and a plain header.
fn seven_zip() -> Vec<u8> {
    let mut header = vec![
        0x01, // Header
        0x05, // FilesInfo
        0x01, // one file
        0x0e, 0x01, 0x80, // EmptyStream: file 0
        0x0f, 0x01, 0x80, // EmptyFile: file 0 is a file, not a directory
        0x11, 0x0d, 0x00, // Name, 13 bytes, not external
    ];
    header.extend("a.txt\0".encode_utf16().flat_map(u16::to_le_bytes));
    header.extend([0x00, 0x00]); // end of FilesInfo, end of Header
    let mut start = 0u64.to_le_bytes().to_vec(); // next header offset
    start.extend(u64::try_from(header.len()).unwrap().to_le_bytes());
    start.extend(crc32(&header).to_le_bytes());

    let mut out = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    out.extend(crc32(&start).to_le_bytes());
    out.extend(start);
    out.extend(header);
    out
}

/// An empty RAR 5 archive: signature, main archive header and end of archive header.
fn rar5() -> Vec<u8> {
    let mut out = b"Rar!\x1a\x07\x01\x00".to_vec();
    for header in [[0x03, 0x01, 0x00, 0x00], [0x03, 0x05, 0x00, 0x00]] {
        out.extend(crc32(&header).to_le_bytes()); // over size, type and flags
        out.extend(header);
    }
    out
}

/// A real SQLite database file with one table and row.
fn sqlite() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.sqlite");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT);
         INSERT INTO note (body) VALUES ('hello from flaskpaste');",
    )
    .unwrap();
    db.close().unwrap();
    std::fs::read(path).unwrap()
}
