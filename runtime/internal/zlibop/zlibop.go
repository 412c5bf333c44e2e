// Package zlibop implements the host side of the Node layer's `zlib` module: one-shot
// gzip, deflate (zlib and raw) and brotli compression and decompression with Go's
// compress packages and github.com/andybalholm/brotli, reporting failures with the
// codes and messages Node's zlib uses so that the layer can rebuild Node's errors.
package zlibop

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/andybalholm/brotli"
)

// Request is one operation. Data and Dictionary are raw bytes (base64 in JSON).
type Request struct {
	// Mode is one of gzip, gunzip, deflate, inflate, deflateRaw, inflateRaw, unzip,
	// brotliCompress, brotliDecompress.
	Mode string `json:"mode"`
	// Level is the zlib compression level, -1 (default) to 9.
	Level *int `json:"level"`
	// Strategy is zlib's strategy; Z_HUFFMAN_ONLY (2) is honoured, others compress normally.
	Strategy int `json:"strategy"`
	// Dictionary is a preset deflate dictionary.
	Dictionary []byte `json:"dictionary"`
	// Quality (0-11) and LGWin (10-24) are brotli's parameters; nil means brotli's defaults.
	Quality *int `json:"quality"`
	LGWin   *int `json:"lgwin"`
	// MaxOutput caps the output in bytes (Node's maxOutputLength); 0 means Limit only.
	MaxOutput int `json:"max_output"`
	// Partial accepts truncated input and returns what it decoded (finishFlush
	// Z_SYNC_FLUSH), as Node does.
	Partial bool   `json:"partial"`
	Data    []byte `json:"data"`
	// Text is a string input, sent as JSON text: it spares the layer encoding it to
	// UTF-8 and base64 in the interpreter, which costs far more than compressing it.
	Text *string `json:"text"`
}

// Error is a failure in Node's terms: Code ("Z_DATA_ERROR", "ERR_BUFFER_TOO_LARGE", ...),
// Errno (zlib's or brotli's negative code, 0 when Node sets none) and Message.
type Error struct {
	Code    string
	Errno   int
	Message string
}

// Error formats the failure as "CODE ERRNO message", which the layer parses.
func (e *Error) Error() string { return fmt.Sprintf("%s %d %s", e.Code, e.Errno, e.Message) }

var (
	errHeader    = &Error{"Z_DATA_ERROR", -3, "incorrect header check"}
	errEOF       = &Error{"Z_BUF_ERROR", -5, "unexpected end of file"}
	errChecksum  = &Error{"Z_DATA_ERROR", -3, "incorrect data check"}
	errNeedDict  = &Error{"Z_NEED_DICT", 2, "Missing dictionary"}
	errBadDict   = &Error{"Z_DATA_ERROR", -3, "Bad dictionary"}
	errCorrupt   = &Error{"Z_DATA_ERROR", -3, "invalid block type"}
	errBrotliEOF = &Error{"Z_BUF_ERROR", -5, "unexpected end of file"}
)

// Do performs req, never producing more than limit bytes (the tier's bound, applied
// even when the request asks for more).
func Do(req Request, limit int) ([]byte, error) {
	max := limit
	if req.MaxOutput > 0 && req.MaxOutput < max {
		max = req.MaxOutput
	}
	out := &cappedBuffer{max: max}
	if req.Text != nil {
		req.Data = []byte(*req.Text)
	}
	var err error
	switch req.Mode {
	case "gzip", "deflate", "deflateRaw":
		err = compress(req, out)
	case "brotliCompress":
		err = brotliCompress(req, out)
	case "gunzip", "inflate", "inflateRaw", "unzip":
		err = decompress(req, out)
	case "brotliDecompress":
		err = brotliDecompress(req, out)
	default:
		return nil, &Error{"ERR_INVALID_ARG_VALUE", 0, fmt.Sprintf("unknown zlib mode %q", req.Mode)}
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// cappedBuffer refuses writes past max with Node's ERR_BUFFER_TOO_LARGE.
// It has no ReadFrom, so io.Copy goes through Write.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		return 0, &Error{"ERR_BUFFER_TOO_LARGE", 0, fmt.Sprintf("Cannot create a Buffer larger than %d bytes", b.max)}
	}
	return b.buf.Write(p)
}

// Bytes returns what was written.
func (b *cappedBuffer) Bytes() []byte { return b.buf.Bytes() }

func level(req Request) int {
	l := flate.DefaultCompression
	if req.Level != nil {
		l = *req.Level
	}
	if req.Strategy == 2 { // Z_HUFFMAN_ONLY
		l = flate.HuffmanOnly
	}
	return l
}

func compress(req Request, out io.Writer) error {
	lvl := level(req)
	var w io.WriteCloser
	var err error
	switch req.Mode {
	case "gzip":
		var g *gzip.Writer
		g, err = gzip.NewWriterLevel(out, lvl)
		if err == nil {
			// zlib's header: no name or time, OS unix, XFL 2 at level 9 and 4 at level 1
			g.Header.OS = 3
			w = g
		}
	case "deflate":
		if len(req.Dictionary) > 0 {
			w, err = zlib.NewWriterLevelDict(out, lvl, req.Dictionary)
		} else {
			w, err = zlib.NewWriterLevel(out, lvl)
		}
	default:
		if len(req.Dictionary) > 0 {
			w, err = flate.NewWriterDict(out, lvl, req.Dictionary)
		} else {
			w, err = flate.NewWriter(out, lvl)
		}
	}
	if err != nil {
		return &Error{"ERR_OUT_OF_RANGE", 0, err.Error()}
	}
	if _, err := w.Write(req.Data); err != nil {
		return asNodeError(err)
	}
	return asNodeError(w.Close())
}

func brotliCompress(req Request, out io.Writer) error {
	opts := brotli.WriterOptions{Quality: 11, LGWin: 22} // Node's defaults
	if req.Quality != nil {
		opts.Quality = *req.Quality
	}
	if req.LGWin != nil {
		opts.LGWin = *req.LGWin
	}
	w := brotli.NewWriterOptions(out, opts)
	if _, err := w.Write(req.Data); err != nil {
		return asNodeError(err)
	}
	return asNodeError(w.Close())
}

func decompress(req Request, out io.Writer) error {
	in := bytes.NewReader(req.Data)
	mode := req.Mode
	if mode == "unzip" {
		mode = "inflate"
		if len(req.Data) >= 2 && req.Data[0] == 0x1f && req.Data[1] == 0x8b {
			mode = "gunzip"
		}
	}
	if len(req.Data) == 0 {
		if req.Partial {
			return nil
		}
		return errEOF
	}
	var r io.Reader
	var err error
	switch mode {
	case "gunzip":
		err = gunzip(in, out)
		if err != nil && req.Partial && isTruncation(err) {
			return nil
		}
		return asNodeError(err)
	case "inflate":
		if len(req.Data) >= 2 && req.Data[1]&0x20 != 0 && len(req.Dictionary) == 0 && (uint(req.Data[0])<<8|uint(req.Data[1]))%31 == 0 {
			return errNeedDict
		}
		var z io.ReadCloser
		z, err = zlib.NewReaderDict(in, req.Dictionary)
		if errors.Is(err, zlib.ErrDictionary) {
			return errBadDict
		}
		if err == nil {
			r = z
		}
	default:
		if len(req.Dictionary) > 0 {
			r = flate.NewReaderDict(in, req.Dictionary)
		} else {
			r = flate.NewReader(in)
		}
	}
	if err == nil {
		_, err = io.Copy(out, r)
	}
	if err != nil && req.Partial && isTruncation(err) {
		return nil
	}
	return asNodeError(err)
}

// gunzip reads gzip members one after another as zlib does in Node: bytes after a
// member start another member unless they begin with a zero byte (trailing zeros are
// ignored), and the magic number is checked before anything else is read.
func gunzip(in *bytes.Reader, out io.Writer) error {
	var g *gzip.Reader
	for first := true; ; first = false {
		if !first {
			b, err := in.ReadByte()
			if err != nil || b == 0 {
				return nil
			}
			in.UnreadByte()
		}
		if err := checkMagic(in); err != nil {
			return err
		}
		var err error
		if g == nil {
			g, err = gzip.NewReader(in)
		} else {
			err = g.Reset(in)
		}
		if err != nil {
			return err
		}
		g.Multistream(false)
		if _, err := io.Copy(out, g); err != nil {
			return err
		}
	}
}

// checkMagic fails with "incorrect header check" when the next bytes cannot start a
// gzip member.
func checkMagic(in *bytes.Reader) error {
	pos := in.Size() - int64(in.Len())
	var magic [2]byte
	n, _ := in.ReadAt(magic[:], pos)
	if (n >= 1 && magic[0] != 0x1f) || (n == 2 && magic[1] != 0x8b) {
		return errHeader
	}
	return nil
}

func brotliDecompress(req Request, out io.Writer) error {
	_, err := io.Copy(out, brotli.NewReader(bytes.NewReader(req.Data)))
	if err != nil && req.Partial && isTruncation(err) {
		return nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errBrotliEOF
	}
	return asNodeError(err)
}

func isTruncation(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// asNodeError maps the errors of Go's readers to zlib's codes and messages.
func asNodeError(err error) error {
	var ne *Error
	var corrupt flate.CorruptInputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ne):
		return ne
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, zlib.ErrHeader):
		return errHeader
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, zlib.ErrChecksum):
		return errChecksum
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errEOF
	case errors.As(err, &corrupt):
		return errCorrupt
	}
	if v := reflect.ValueOf(err); v.Kind() == reflect.Int && strings.HasPrefix(err.Error(), "brotli: ") {
		// brotli's decoder error: Node reports "Decompression failed" with the C
		// library's code name and number
		return &Error{"ERR_" + brotliCodeName(int(v.Int()), strings.TrimPrefix(err.Error(), "brotli: ")), int(v.Int()), "Decompression failed"}
	}
	return &Error{"Z_DATA_ERROR", -3, err.Error()}
}

// brotliCodeName rebuilds the C decoder's error name (BROTLI_DECODER_ERROR_FORMAT_*
// and friends, without the BROTLI_DECODER prefix, as Node prints them).
func brotliCodeName(code int, short string) string {
	switch {
	case code <= -1 && code >= -16:
		return "_ERROR_FORMAT_" + short
	case code <= -21 && code >= -30:
		return "_ERROR_ALLOC_" + short
	default:
		return "_ERROR_" + short
	}
}
