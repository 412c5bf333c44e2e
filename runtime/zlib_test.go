package runtime_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/reactord/reactord/runtime"
)

// zlibFixtures were made by Node 20's zlib from zlibText (node -e ...gzipSync(t)...).
const zlibArgs = `{
  "text": "The quick brown fox jumps over the lazy dog. ",
  "gz": "H4sIAAAAAAAAAwvJSFUoLM1MzlZIKsovz1NIy69QyCrNLShWyC9LLVIoyUhVyEmsqlRIyU/XUwgZVTyqeFQxtRUDAOZKZrCEAwAA",
  "df": "eJwLyUhVKCzNTM5WSCrKL89TSMuvUMgqzS0oVsgvSy1SKMlIVchJrKpUSMlP11MIGVU8qnhUMbUVAwBHpUMc",
  "raw": "C8lIVSgszUzOVkgqyi/PU0jLr1DIKs0tKFbIL0stUijJSFXISayqVEjJT9dTCBlVPKp4VDG1FQMA",
  "br": "G4MDiCwOeNPQlV2XELsXK6nK0JLMjK1BXObyNsgZnp4Ke4MNOHBIIG8kvkGnFc4cHieqKTjCibhPgwE=",
  "dict": "eLs1KQZry0DjK4AFAGKSCJ8="
}`

// TestZlibParity runs the zlib module on both images and in real Node: decompressing
// Node's output, round trips of every format through every API style, errors (code,
// errno, message) and option validation must match.
func TestZlibParity(t *testing.T) {
	cases := []parityCase{
		{"decompress node output", `const z = require('zlib'); const t = args.text.repeat(20);
  return [z.gunzipSync(Buffer.from(args.gz, 'base64')).toString() === t, z.inflateSync(Buffer.from(args.df, 'base64')).toString() === t,
    z.inflateRawSync(Buffer.from(args.raw, 'base64')).toString() === t, z.brotliDecompressSync(Buffer.from(args.br, 'base64')).toString() === t,
    z.unzipSync(Buffer.from(args.gz, 'base64')).length, z.unzipSync(Buffer.from(args.df, 'base64')).length,
    z.inflateSync(Buffer.from(args.dict, 'base64'), { dictionary: Buffer.from('hello dictionary') }).toString()]`},
		{"sync round trips", `const z = require('zlib'); const t = args.text.repeat(50); const out = {};
  for (const [c, d] of [['gzipSync', 'gunzipSync'], ['deflateSync', 'inflateSync'], ['deflateRawSync', 'inflateRawSync'], ['brotliCompressSync', 'brotliDecompressSync'], ['gzipSync', 'unzipSync'], ['deflateSync', 'unzipSync']]) {
    const packed = z[c](t); out[c + '/' + d] = [Buffer.isBuffer(packed), packed.length < t.length, z[d](packed).toString() === t];
  }
  for (const level of [0, 1, 9, -1]) out['level ' + level] = z.inflateSync(z.deflateSync(t, { level })).toString() === t;
  out.huffman = z.gunzipSync(z.gzipSync(t, { strategy: z.constants.Z_HUFFMAN_ONLY })).toString() === t;
  out.brotliQuality = z.brotliDecompressSync(z.brotliCompressSync(t, { params: { [z.constants.BROTLI_PARAM_QUALITY]: 4 } })).toString() === t;
  out.dictionary = z.inflateSync(z.deflateSync(t, { dictionary: Buffer.from('quick brown') }), { dictionary: Buffer.from('quick brown') }).toString() === t;
  out.rawDictionary = z.inflateRawSync(z.deflateRawSync(t, { dictionary: Buffer.from('lazy dog') }), { dictionary: Buffer.from('lazy dog') }).toString() === t;
  out.inputs = [z.gunzipSync(z.gzipSync(new Uint8Array([1, 2, 3]))).toString('hex'), z.gunzipSync(z.gzipSync(new Uint8Array([4, 5]).buffer)).toString('hex'),
    z.gunzipSync(z.gzipSync(new DataView(new Uint8Array([6]).buffer))).toString('hex'), z.gunzipSync(z.gzipSync('')).length];
  return out;`},
		{"gzip header as zlib writes it", `const z = require('zlib'); return [z.gzipSync('x').subarray(0, 10).toString('hex'), z.gzipSync('x', { level: 9 }).subarray(0, 10).toString('hex'),
    z.gzipSync('x', { level: 1 }).subarray(0, 10).toString('hex'), z.deflateSync('x').subarray(0, 2).toString('hex')]`},
		{"concatenated gzip members", `const z = require('zlib'); return z.gunzipSync(Buffer.concat([z.gzipSync('one '), z.gzipSync('two')])).toString()`},
		{"callbacks and promisify", `const z = require('zlib'); const { promisify } = require('util'); const t = args.text;
  const viaCb = await new Promise((res, rej) => z.gzip(t, (err, b) => err ? rej(err) : z.gunzip(b, (err2, out) => err2 ? rej(err2) : res(out.toString()))));
  const withOpts = await new Promise((res) => z.deflate(t, { level: 9 }, (err, b) => res(z.inflateSync(b).toString())));
  const p = await promisify(z.brotliDecompress)(await promisify(z.brotliCompress)(t));
  const order = []; z.gzip('x', () => order.push('callback')); order.push('sync'); await new Promise((r) => setTimeout(r, 5));
  const bad = await promisify(z.gunzip)(Buffer.from('not gzip')).catch((e) => [e.code, e.errno, e.message]);
  return [viaCb, withOpts, p.toString(), order, bad]`},
		{"streams", `const z = require('zlib'); const { pipeline, Readable, Writable } = require('stream'); const t = args.text.repeat(30);
  const collect = (src) => new Promise((res, rej) => { const chunks = []; pipeline(src, new Writable({ write(c, e, cb) { chunks.push(c); cb(); } }), (err) => err ? rej(err) : res(Buffer.concat(chunks))); });
  const gz = await collect(Readable.from([t.slice(0, 100), t.slice(100)]).pipe(z.createGzip()));
  const back = await collect(Readable.from([gz.subarray(0, 7), gz.subarray(7)]).pipe(z.createGunzip()));
  const br = await collect(Readable.from([t]).pipe(z.createBrotliCompress()).pipe(z.createBrotliDecompress()));
  const un = await collect(Readable.from([z.deflateSync(t)]).pipe(z.createUnzip()));
  const err = await collect(Readable.from([Buffer.from('garbage!')]).pipe(z.createInflate())).catch((e) => [e.code, e.errno, e.message]);
  const g = new z.Gzip(); const d = z.Deflate();
  return [back.toString() === t, br.toString() === t, un.toString() === t, err, g instanceof z.Gzip, d instanceof z.Deflate, typeof g.pipe, typeof g.flush, typeof g.close]`},
		{"errors", `const z = require('zlib'); const g = z.gzipSync('hello world hello world'); const e = (f) => { try { f(); return 'no error'; } catch (err) { return [err.name, err.code, err.errno, err.message]; } };
  return [e(() => z.gunzipSync(Buffer.from('not gzip'))), e(() => z.inflateSync(Buffer.from('not zlib'))), e(() => z.inflateRawSync(Buffer.from([0xff, 0xff, 0xff]))),
    e(() => z.gunzipSync(g.subarray(0, 10))), e(() => z.gunzipSync(g.subarray(0, g.length - 2))), e(() => z.unzipSync(Buffer.from('xx'))),
    e(() => z.brotliDecompressSync(Buffer.from('not brotli data'))), e(() => z.brotliDecompressSync(z.brotliCompressSync('hello hello hello').subarray(0, 5))),
    e(() => z.inflateSync(z.deflateSync('hi', { dictionary: Buffer.from('hi') }))), e(() => z.gunzipSync(Buffer.alloc(0))), e(() => z.inflateSync(Buffer.alloc(0))),
    e(() => z.gunzipSync(z.gzipSync('x'.repeat(1000)), { maxOutputLength: 10 })), e(() => z.gzipSync(123)), e(() => z.gzipSync({})), e(() => z.gzipSync(null)),
    e(() => z.gzipSync('a', { level: 42 })), e(() => z.gzipSync('a', { level: '1' })), e(() => z.gunzipSync(Buffer.concat([g, Buffer.from('trailing')]))),
    e(() => { const b = Buffer.from(g); b[b.length - 5] ^= 1; z.gunzipSync(b); })]`},
		{"partial input with Z_SYNC_FLUSH", `const z = require('zlib'); return z.inflateSync(z.deflateSync('abc').subarray(0, 5), { finishFlush: z.constants.Z_SYNC_FLUSH }).toString()`},
		{"constants and crc32", `const z = require('zlib'); return [z.constants.Z_BEST_COMPRESSION, z.constants.BROTLI_PARAM_QUALITY, z.Z_SYNC_FLUSH, z.codes.Z_DATA_ERROR, z.codes['-3'],
    Object.keys(z).sort().join(), z.crc32('hello'), z.crc32(Buffer.from('world'), z.crc32('hello ')), z.crc32('')]`},
	}
	for _, image := range []string{"node22", "node-bt"} {
		runParity(t, image, zlibArgs, cases)
	}
}

// TestZlibOutputReadByNode: what the runtime compresses, real Node decompresses.
func TestZlibOutputReadByNode(t *testing.T) {
	code := `module.exports = async (req) => { const z = require('zlib'); const t = req.args.text.repeat(40);
  return { raw: { gz: z.gzipSync(t).toString('base64'), gz9: z.gzipSync(t, { level: 9 }).toString('base64'), df: z.deflateSync(t).toString('base64'),
    raw: z.deflateRawSync(t).toString('base64'), br: z.brotliCompressSync(t).toString('base64'),
    dict: z.deflateSync(t, { dictionary: Buffer.from('lazy dog') }).toString('base64') } }; };`
	r := invoke(t, "node-bt", code, zlibArgs, standard(t))
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var out struct {
		Raw map[string]string `json:"raw"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal(out.Raw)
	got := nodeResults(t, string(args), []parityCase{{"node decompresses", `const z = require('zlib'); const b = (k) => Buffer.from(args[k], 'base64');
  return [z.gunzipSync(b('gz')), z.gunzipSync(b('gz9')), z.inflateSync(b('df')), z.inflateRawSync(b('raw')), z.brotliDecompressSync(b('br')),
    z.inflateSync(b('dict'), { dictionary: Buffer.from('lazy dog') })].map((x) => x.toString() === 'The quick brown fox jumps over the lazy dog. '.repeat(40))`}})
	jsonEq(t, got[0], `[true, true, true, true, true, true]`)
}

// TestZlibAtLoad: module-level code may use zlib while its snapshot is made.
func TestZlibAtLoad(t *testing.T) {
	r := invoke(t, "node22", `const z = require('zlib'); const packed = z.gzipSync('made at load');
module.exports = async () => ({ res: { body: z.gunzipSync(packed).toString() } });`, `{}`, standard(t))
	jsonEq(t, r.Body, `{"body": "made at load", "headers": null}`)
}

// TestZlibBombIsBounded performs a decompression bomb (64 MiB of zeros in 64 KiB of
// gzip): the host stops at the tier's share of memory with Node's
// ERR_BUFFER_TOO_LARGE instead of exhausting the instance, and the instance keeps
// serving.
func TestZlibBombIsBounded(t *testing.T) {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(make([]byte, 64<<20))
	w.Close()
	args, _ := json.Marshal(map[string]string{"bomb": base64.StdEncoding.EncodeToString(buf.Bytes())})
	code := `module.exports = async (req) => { const z = require('zlib');
  try { z.gunzipSync(Buffer.from(req.args.bomb, 'base64')); return { raw: 'inflated' }; } catch (e) { return { raw: [e.name, e.code, e.message] }; } };`
	in := newInstance(t, "node-bt", code, standard(t))
	for i := 0; i < 2; i++ {
		r, err := in.Invoke(context.Background(), runtime.Event{Args: args})
		if err != nil {
			t.Fatal(err)
		}
		jsonEq(t, r.Body, `{"tokens": null, "raw": ["RangeError", "ERR_BUFFER_TOO_LARGE", "Cannot create a Buffer larger than 33554432 bytes"]}`)
	}
}

// BenchmarkZlib: gzip and gunzip of 228 KiB of JSON through the host op, base64
// crossings included (fflate interpreted by QuickJS needed ~816 ms to gzip the same
// input and ~64 ms to gunzip it, which is why zlib is host-backed).
func BenchmarkZlib(b *testing.B) {
	ctx := context.Background()
	code := `const z = require('zlib');
const text = JSON.stringify(Array.from({ length: 4000 }, (_, i) => ({ id: i, name: 'card ' + i, number: String(4242424242424242 + i) }))).slice(0, 233781);
const packed = z.gzipSync(text);
module.exports = async (req) => ({ raw: req.args.op === 'gzip' ? z.gzipSync(text).length : z.gunzipSync(packed).length });`
	snap := benchSnapshot(b, code)
	l, _ := runtime.TierLimits(runtime.Standard)
	in, err := snap.NewInstance(ctx, l)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close(ctx)
	for _, op := range []string{"gzip", "gunzip"} {
		b.Run(op, func(b *testing.B) {
			ev := runtime.Event{Args: json.RawMessage(`{"op":"` + op + `"}`)}
			for b.Loop() {
				r, err := in.Invoke(ctx, ev)
				mustOK(b, r, err)
			}
		})
	}
}
