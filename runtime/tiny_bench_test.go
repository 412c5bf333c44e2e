package runtime

import (
	"context"
	"encoding/json"
	"testing"
)

func BenchmarkTinyWarm(b *testing.B) {
	ctx := context.Background()
	e, _ := NewEngine(ctx, Config{Images: tinyImages})
	s, err := e.Load(ctx, Bundle{Code: []byte(`module.exports = async function (req) { return { raw: { sum: req.args.a + req.args.b } }; };`)})
	if err != nil {
		b.Fatal(err)
	}
	lim, _ := TierLimits(Standard)
	in, _ := s.NewInstance(ctx, lim)
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			in.Invoke(ctx, Event{Args: json.RawMessage(`{"a":1,"b":2}`)})
		}
	})
	b.Run("reset", func(b *testing.B) {
		for b.Loop() {
			in.Reset(ctx)
		}
	})
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			in, _ := s.NewInstance(ctx, lim)
			in.Invoke(ctx, Event{Args: json.RawMessage(`{"a":1,"b":2}`)})
			in.Close(ctx)
		}
	})
}

func BenchmarkTinyColdParts(b *testing.B) {
	ctx := context.Background()
	e, _ := NewEngine(ctx, Config{Images: tinyImages, CacheDir: "/tmp/rdcache"})
	s, _ := e.Load(ctx, Bundle{Code: []byte(`module.exports = async function (req) { return { raw: { sum: req.args.a + req.args.b } }; };`)})
	lim, _ := TierLimits(Standard)
	var ins []*Instance
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			in, _ := s.NewInstance(ctx, lim)
			ins = append(ins, in)
		}
	})
	i := 0
	b.Run("first-invoke", func(b *testing.B) {
		for b.Loop() {
			if i >= len(ins) {
				in, _ := s.NewInstance(ctx, lim)
				ins = append(ins, in)
			}
			ins[i].Invoke(ctx, Event{Args: json.RawMessage(`{"a":1,"b":2}`)})
			i++
		}
	})
	b.Run("close", func(b *testing.B) {
		for b.Loop() {
			if len(ins) == 0 {
				in, _ := s.NewInstance(ctx, lim)
				ins = append(ins, in)
			}
			ins[0].Close(ctx)
			ins = ins[1:]
		}
	})
}
