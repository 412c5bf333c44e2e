package runtime

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"strconv"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/reactord/reactord/runtime/internal/collateop"
)

// hostRefHost is the host-ref id of the one host function, __host(op, arg).
const hostRefHost = 1

// hostCallFunction is the bridge QuickJS calls for host functions. It returns an
// owned JSValue* (0 means undefined); host errors are thrown into JavaScript.
func hostCallFunction(ctx context.Context, m api.Module, stack []uint64) {
	jsctx, argc, argv, ref := uint32(stack[0]), uint32(stack[2]), uint32(stack[3]), uint32(stack[4])
	s := stateFrom(ctx)
	if s == nil || ref != hostRefHost {
		panic(fmt.Errorf("host function %d called outside an invocation", ref))
	}
	v := s.vm
	arg := func(i uint32) ([]byte, error) {
		if i >= argc {
			return nil, nil
		}
		p, err := v.c(ctx, v.fn.argvPointer, argv, i)
		if err != nil {
			return nil, err
		}
		return v.toString(ctx, jsctx, p)
	}
	op, err := arg(0)
	if err != nil {
		panic(err)
	}
	in, err := arg(1)
	if err != nil {
		panic(err)
	}
	out, herr := s.inv.hostOp(ctx, string(op), in)
	var result uint32
	if herr != nil {
		result, err = v.throwError(ctx, jsctx, herr.Error())
	} else if out != nil {
		result, err = v.newString(ctx, jsctx, out)
	}
	if err != nil {
		panic(err)
	}
	stack[0] = uint64(result)
}

// throwError raises Error(msg) in JavaScript and returns the exception marker.
func (v *vm) throwError(ctx context.Context, jsctx uint32, msg string) (uint32, error) {
	e, err := v.c(ctx, v.fn.newError, jsctx)
	if err != nil {
		return 0, err
	}
	s, err := v.newString(ctx, jsctx, []byte(msg))
	if err != nil {
		return 0, err
	}
	if err := v.setProp(ctx, jsctx, e, "message", s); err != nil {
		return 0, err
	}
	exc, err := v.c(ctx, v.fn.throw, jsctx, e)
	return exc, errors.Join(err, v.freeValue(ctx, jsctx, s), v.freeValue(ctx, jsctx, e))
}

// hostOp performs one synchronous host operation for JavaScript (docs/host-abi.md).
func (inv *invocation) hostOp(ctx context.Context, op string, arg []byte) ([]byte, error) {
	switch op {
	case "console":
		var line [2]string
		if err := json.Unmarshal(arg, &line); err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		inv.log(line[0], line[1])
		return nil, nil
	case "random":
		n, err := strconv.Atoi(string(arg))
		if err != nil || n < 1 || n > 65536 {
			return nil, errors.New("random: byte count must be 1..65536")
		}
		b := make([]byte, n)
		rand.Read(b)
		return base64.StdEncoding.AppendEncode(nil, b), nil
	case "hash", "hmac":
		return digest(op, arg)
	case "zlib":
		return inv.zlib(arg)
	case "collate":
		return collateop.Compare(arg)
	case "intl-data":
		return intlData(arg)
	case "done", "fail":
		if inv.settled {
			return nil, errors.New("the invocation already returned")
		}
		inv.settled = true
		inv.failed = op == "fail"
		inv.result = arg
		return nil, nil
	case "async":
		return inv.startAsync(ctx, arg)
	}
	return nil, fmt.Errorf("unknown host operation %q", op)
}

func digest(op string, arg []byte) ([]byte, error) {
	var req struct {
		Alg  string `json:"alg"`
		Key  []byte `json:"key"`
		Data []byte `json:"data"`
	}
	if err := json.Unmarshal(arg, &req); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var newHash func() hash.Hash
	switch req.Alg {
	case "md5":
		newHash = md5.New
	case "sha1":
		newHash = sha1.New
	case "sha256":
		newHash = sha256.New
	case "sha512":
		newHash = sha512.New
	default:
		return nil, fmt.Errorf("Digest method not supported: %q (use md5, sha1, sha256 or sha512)", req.Alg)
	}
	var h hash.Hash
	if op == "hmac" {
		h = hmac.New(newHash, req.Key)
	} else {
		h = newHash()
	}
	h.Write(req.Data)
	return base64.StdEncoding.AppendEncode(nil, h.Sum(nil)), nil
}

func hostInterrupt(ctx context.Context, m api.Module, stack []uint64) {
	stack[0] = 0
	if s := stateFrom(ctx); s != nil && s.inv != nil && s.inv.isInterrupted() {
		stack[0] = 1
	}
}

// hostResizeHeap grows the memory for emscripten's sbrk, by at least a fifth to keep
// growth calls rare, never past the instance's limit. The extra fifth is capped at
// the limit rather than attempted and refused: the memory remembers a refused growth
// as "out of memory", which only a request that cannot fit may cause.
func hostResizeHeap(ctx context.Context, m api.Module, stack []uint64) {
	requested := uint64(uint32(stack[0]))
	mem := m.Memory()
	cur := uint64(mem.Size())
	stack[0] = 1
	if requested <= cur {
		return
	}
	target := max(requested, cur+min(cur/5, 96<<20))
	if s := stateFrom(ctx); s != nil && s.vm != nil {
		target = max(requested, min(target, s.vm.mem.Limit()))
	} else {
		target = requested
	}
	pages := (target - cur + 65535) / 65536
	if _, ok := mem.Grow(uint32(pages)); !ok {
		stack[0] = 0
	}
}

func hostFdWrite(ctx context.Context, m api.Module, stack []uint64) {
	iov, iovcnt, pnum := uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	mem := m.Memory()
	var total uint32
	var text []byte
	for i := uint32(0); i < iovcnt; i++ {
		p, _ := mem.ReadUint32Le(iov + 8*i)
		n, _ := mem.ReadUint32Le(iov + 8*i + 4)
		if b, ok := mem.Read(p, n); ok {
			text = append(text, b...)
		}
		total += n
	}
	if s := stateFrom(ctx); s != nil && s.inv != nil && len(text) > 0 {
		s.inv.log("engine", string(text))
	}
	mem.WriteUint32Le(pnum, total)
	stack[0] = 0
}

func hostEnvironSizes(ctx context.Context, m api.Module, stack []uint64) {
	m.Memory().WriteUint32Le(uint32(stack[0]), 0)
	m.Memory().WriteUint32Le(uint32(stack[1]), 0)
	stack[0] = 0
}

// Reactors run in UTC: localtime is gmtime and the zone is UTC.
func hostLocaltime(ctx context.Context, m api.Module, stack []uint64) {
	t := time.Unix(int64(stack[0]), 0).UTC()
	p := uint32(stack[1])
	mem := m.Memory()
	for i, v := range []int{t.Second(), t.Minute(), t.Hour(), t.Day(), int(t.Month()) - 1,
		t.Year() - 1900, int(t.Weekday()), t.YearDay() - 1, 0, 0} {
		mem.WriteUint32Le(p+uint32(4*i), uint32(int32(v)))
	}
}

func hostTzset(ctx context.Context, m api.Module, stack []uint64) {
	mem := m.Memory()
	mem.WriteUint32Le(uint32(stack[0]), 0)
	mem.WriteUint32Le(uint32(stack[1]), 0)
	mem.Write(uint32(stack[2]), []byte("UTC\x00"))
	mem.Write(uint32(stack[3]), []byte("UTC\x00"))
}

func hostDateNow(ctx context.Context, m api.Module, stack []uint64) {
	stack[0] = math.Float64bits(float64(time.Now().UnixMicro()) / 1000)
}

var processStart = time.Now()

func hostClockTimeGet(ctx context.Context, m api.Module, stack []uint64) {
	var ns int64
	switch uint32(stack[0]) {
	case 0: // realtime
		ns = time.Now().UnixNano()
	case 1, 2, 3: // monotonic, process and thread CPU time
		ns = int64(time.Since(processStart))
	default:
		stack[0] = 28 // EINVAL
		return
	}
	m.Memory().WriteUint64Le(uint32(stack[2]), uint64(ns))
	stack[0] = 0
}
