package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/dangol/dangol/events"
)

// Format is how a file's rows are written: CSV with a header line, or
// JSON Lines (one JSON object a line).
type Format string

// The formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// FormatOf returns the format a file's name says: .csv is CSV; .jsonl,
// .ndjson and .json are JSON Lines. Another extension is Invalid (name the
// format with --format).
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson", ".json":
		return JSONL, nil
	}
	return "", events.InvalidField("format", "cannot tell the format of %s by its extension: name it (csv or jsonl)", filepath.Base(path))
}

// ParseFormat returns the format the operator named (csv or jsonl, in
// any case); another is Invalid.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case CSV, JSONL:
		return f, nil
	}
	return "", events.InvalidField("format", "must be csv or jsonl")
}

// maxLine is the longest row a file may hold (a JSON line, or a CSV
// record with its line breaks): far above any customer record. A longer
// JSON line is a rejected row, its first maxLine bytes kept as its raw
// bytes, and reading goes on at the next line; a longer CSV record stops
// the import (where it ends cannot be told: a quoted field may have been
// left open), so that neither holds more than about maxLine in memory.
const maxLine = 1 << 20

// row is one record of the input: where it starts, its bytes as read, and
// its columns (a column left empty or null is absent). A row that could
// not be read as a record has bad set instead of fields.
type row struct {
	line   int
	raw    []byte
	fields map[string]string
	bad    string
}

// rowReader reads the rows of one file, in order. next returns io.EOF
// after the last one; any other error is the file's, not a row's.
type rowReader interface {
	next() (row, error)
	// offset is how many bytes of the file have been read into rows.
	offset() int64
}

// newRowReader returns the reader of f for records of kind, reading the
// header of a CSV file: a header naming a column kind does not have,
// naming one twice, or lacking one every record needs, is Invalid before
// any row is read. A byte order mark at the start (as Windows editors and
// spreadsheets save UTF-8) is skipped in either format, before the CSV
// reader sees it: one before a quoted header column would be a stray
// quote to it.
func newRowReader(r io.Reader, f Format, kind Kind) (rowReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var bom int64
	if b, _ := br.Peek(len(byteOrderMark)); string(b) == byteOrderMark {
		n, _ := br.Discard(len(byteOrderMark))
		bom = int64(n)
	}
	if f == JSONL {
		return &jsonReader{r: br, kind: kind, read: bom}, nil
	}
	return newCSVReader(br, kind, bom)
}

// CheckHeader reads the header of a CSV file from r and returns Run's
// refusal of it (Invalid), nil if Run takes it; JSON Lines has no header
// (nil). A command checks the file with it before it opens a store.
func CheckHeader(r io.Reader, f Format, kind Kind) error {
	if f == JSONL {
		return nil
	}
	_, err := newRowReader(r, f, kind)
	return err
}

// byteOrderMark is U+FEFF in UTF-8.
const byteOrderMark = "\ufeff"

// csvReader reads CSV: a header line naming the columns, then one record a
// row. A row that is not CSV (a stray quote) is rejected and reading goes
// on at the next line; a quoted field left open reads on, and stops the
// import once it is longer than maxLine.
type csvReader struct {
	r      *csv.Reader
	tape   *tape
	header []string
	skip   int64 // the bytes before the header the CSV reader did not see (a byte order mark)
}

func newCSVReader(r io.Reader, kind Kind, skip int64) (*csvReader, error) {
	t := &tape{r: r}
	cr := csv.NewReader(t)
	cr.FieldsPerRecord = -1 // a row of the wrong width is a rejected row, not the end of the file
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, events.InvalidField("header", "the file is empty: a CSV file starts with a header line naming its columns")
	}
	if err != nil {
		return nil, events.InvalidField("header", "cannot read the header line: %s", csvReason(err))
	}
	t.cut(cr.InputOffset())
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		switch {
		case !kind.hasColumn(h):
			return nil, events.InvalidField("header", "column %d (%s) is not a column of %s records (%s)", i+1, printable(h), kind, strings.Join(kind.columns(), ", "))
		case seen[h]:
			return nil, events.InvalidField("header", "column %s appears twice", h)
		}
		seen[h] = true
	}
	if why := kind.missing(func(c string) bool { return seen[c] }); why != "" {
		return nil, events.InvalidField("header", "%s", why)
	}
	return &csvReader{r: cr, tape: t, header: header, skip: skip}, nil
}

func (c *csvReader) offset() int64 { return c.skip + c.r.InputOffset() }

func (c *csvReader) next() (row, error) {
	rec, err := c.r.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return row{}, io.EOF
	case errors.As(err, &pe):
		return row{line: pe.StartLine, raw: c.tape.cut(c.r.InputOffset()), bad: csvReason(err)}, nil
	case err != nil:
		return row{}, err
	}
	line, _ := c.r.FieldPos(0)
	r := row{line: line, raw: c.tape.cut(c.r.InputOffset())}
	if len(rec) != len(c.header) {
		r.bad = fmt.Sprintf("has %d fields, the header %d", len(rec), len(c.header))
		return r, nil
	}
	r.fields = make(map[string]string, len(rec))
	for i, v := range rec {
		if v = strings.TrimSpace(v); v != "" {
			r.fields[c.header[i]] = v
		}
	}
	return r, nil
}

// tape keeps the bytes a csv.Reader has read ahead and not yet made into
// records, so that a row's raw bytes are the file's own. A record longer
// than maxLine is an error of the file (maxLine).
type tape struct {
	r     io.Reader
	buf   []byte // the bytes from offset base on
	base  int64
	lines int // the line breaks before base
}

func (t *tape) Read(p []byte) (int, error) {
	if len(t.buf) > maxLine+len(p) { // more than a record's worth beyond what the reader buffers ahead
		return 0, events.InvalidField("", "the row at line %d is longer than %d bytes (or a quoted field is left open): the file cannot be read on", t.lines+1, maxLine)
	}
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	return n, err
}

// cut returns the bytes from the last cut up to offset end, without the
// line break after them or the blank lines before them (which the CSV
// reader skips: no row starts with a line break), and forgets them.
func (t *tape) cut(end int64) []byte {
	n := min(int(end-t.base), len(t.buf))
	t.lines += bytes.Count(t.buf[:n], []byte("\n"))
	raw := bytes.Clone(bytes.Trim(t.buf[:n], "\r\n"))
	t.buf = append(t.buf[:0], t.buf[n:]...)
	t.base = end
	return raw
}

// csvReason is a CSV syntax error without its position, which the row says.
func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return "not CSV: " + pe.Err.Error()
	}
	return err.Error()
}

// jsonReader reads JSON Lines: each non-blank line one JSON object whose
// values are strings, numbers, booleans or null.
type jsonReader struct {
	r     *bufio.Reader
	kind  Kind
	line  int
	read  int64
	begun bool // a line that is not blank was read
}

func (j *jsonReader) offset() int64 { return j.read }

func (j *jsonReader) next() (row, error) {
	for {
		b, long, err := j.readLine()
		if err != nil {
			return row{}, err
		}
		j.line++
		if long {
			return row{line: j.line, raw: b, bad: fmt.Sprintf("is longer than %d bytes (raw holds its first %d)", maxLine, maxLine)}, nil
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if !j.begun && bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
			return row{}, events.InvalidField("format", "line %d starts a JSON array: JSON Lines holds one object a line, not an array of them", j.line)
		}
		j.begun = true
		r := row{line: j.line, raw: b}
		r.fields, r.bad = j.parse(b)
		return r, nil
	}
}

// readLine returns the next line without its line break, a fresh slice;
// of a line longer than maxLine (long) only the first maxLine bytes, the
// rest read past.
func (j *jsonReader) readLine() (line []byte, long bool, _ error) {
	for {
		part, err := j.r.ReadSlice('\n')
		j.read += int64(len(part))
		if !long {
			line = append(line, part...)
			if len(line) > maxLine {
				line, long = line[:maxLine], true
			}
		}
		switch {
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), long, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, long, nil
		default:
			return nil, false, err
		}
	}
}

// parse reads one line's object into columns, or says why it cannot.
func (j *jsonReader) parse(b []byte) (map[string]string, string) {
	if !utf8.Valid(b) {
		return nil, "is not valid UTF-8"
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil { // null unmarshals into a nil map
		return nil, "is not a JSON object"
	}
	if k, twice := repeatedKey(b); twice {
		return nil, printable(k) + " appears twice" // as a CSV header's column may not
	}
	fields := make(map[string]string, len(obj))
	for k, v := range obj {
		if !j.kind.hasColumn(k) {
			return nil, fmt.Sprintf("%s is not a column of %s records (%s)", printable(k), j.kind, strings.Join(j.kind.columns(), ", "))
		}
		s, ok := scalar(v)
		if !ok {
			return nil, k + " must be a string, a number, true, false or null"
		}
		if s = strings.TrimSpace(s); s != "" {
			fields[k] = s
		}
	}
	return fields, ""
}

// repeatedKey returns a key the JSON object b (valid: parse read it)
// names twice, if any: Unmarshal keeps the last of them in silence.
func repeatedKey(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	seen := map[string]bool{}
	if _, err := dec.Token(); err != nil { // {
		return "", false
	}
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok {
			return "", false
		}
		if seen[k] {
			return k, true
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return "", false
		}
	}
	return "", false
}

// scalar returns a JSON scalar as text: a string's value, a number or
// boolean as written, null as "".
func scalar(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0:
		return "", false
	case v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err == nil
	case string(v) == "null":
		return "", true
	case v[0] == '{' || v[0] == '[':
		return "", false
	}
	return string(v), true
}

// printable names a column from the input in an error only if it looks
// like a column name: anything else might be a value typed in the wrong
// place (personal data stays out of errors).
func printable(name string) string {
	if events.ValidID(name) {
		return fmt.Sprintf("%q", name)
	}
	return "an unnamed or malformed column"
}
