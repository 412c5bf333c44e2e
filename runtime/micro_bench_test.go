package runtime

import (
	"context"
	"testing"
)

func BenchmarkMicro(b *testing.B) {
	ctx := context.Background()
	e, _ := NewEngine(ctx, Config{Images: tinyImages, CacheDir: "/tmp/rdcache"})
	s, err := e.Load(ctx, Bundle{Code: []byte(`module.exports = async function (req) { return 1 };`)})
	if err != nil {
		b.Fatal(err)
	}
	lim, _ := TierLimits(Standard)
	in, _ := s.NewInstance(ctx, lim)
	v, p := in.vm, s.ptrs
	hctx := context.WithValue(ctx, hostStateKey{}, in.state)
	in.state.inv = newInvocation(e, lim)
	fn, err := v.eval(hctx, p.ctx, []byte(`(function (s) { return s.length })`), "x")
	if err != nil {
		b.Fatal(err)
	}
	jp, _ := v.eval(hctx, p.ctx, []byte(`(function (s) { return JSON.parse(s) })`), "x")
	b.Run("malloc+free", func(b *testing.B) {
		for b.Loop() {
			x, _ := v.c(hctx, v.fn.malloc, 100)
			v.c(hctx, v.fn.free, x)
		}
	})
	b.Run("getUndefined", func(b *testing.B) {
		for b.Loop() {
			v.c(hctx, v.fn.getUndefined)
		}
	})
	b.Run("newString", func(b *testing.B) {
		for b.Loop() {
			s, _ := v.newString(hctx, p.ctx, []byte(`{"a":1,"b":2}`))
			v.freeValue(hctx, p.ctx, s)
		}
	})
	b.Run("call-length", func(b *testing.B) {
		s, _ := v.newString(hctx, p.ctx, []byte(`{"a":1,"b":2}`))
		for b.Loop() {
			r, err := v.call(hctx, p.ctx, p.undefined, p.argv, fn, s)
			if err != nil {
				b.Fatal(err)
			}
			v.freeValue(hctx, p.ctx, r)
		}
	})
	b.Run("call-JSON.parse", func(b *testing.B) {
		s, _ := v.newString(hctx, p.ctx, []byte(`{"args":{"a":1,"b":2},"configuration":{},"seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","bt":null}`))
		for b.Loop() {
			r, err := v.call(hctx, p.ctx, p.undefined, p.argv, jp, s)
			if err != nil {
				b.Fatal(err)
			}
			v.freeValue(hctx, p.ctx, r)
		}
	})
	for _, src := range []string{"(function (s) { return JSON.parse('1') })", "(function (s) { return JSON.parse('{\"a\":1}') })", "(function (s) { return {args:{a:1,b:2},configuration:{},seed:'x',bt:null} })", "(function (s) { let x = 0; for (let i = 0; i < 1000; i++) x += i; return x })", "(function (s) { return Date.now() })", "(function (s) { return Math.random() })", "(function (s) { return s.slice(1) })"} {
		f, err := v.eval(hctx, p.ctx, []byte(src), "x")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(src[13:min(len(src), 40)], func(b *testing.B) {
			s, _ := v.newString(hctx, p.ctx, []byte(`{"a":1,"b":2}`))
			for b.Loop() {
				r, err := v.call(hctx, p.ctx, p.undefined, p.argv, f, s)
				if err != nil {
					b.Fatal(err)
				}
				v.freeValue(hctx, p.ctx, r)
			}
		})
	}
	b.Run("runJobs-empty", func(b *testing.B) {
		for b.Loop() {
			v.runJobs(hctx, p.rt, p.ctx, p.lastCtx)
		}
	})
}
