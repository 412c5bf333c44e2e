package wasmbin

import (
	"bytes"
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/reactord/reactord/runtime/internal/engine"
)

func TestOwnMemoryEngine(t *testing.T) {
	ctx := context.Background()
	for _, forSnapshot := range []bool{false, true} {
		rw, err := OwnMemory(engine.Wasm(), forSnapshot)
		if err != nil {
			t.Fatal(err)
		}
		if rw.ImportModule != "a" || rw.ImportName != engine.MemoryImport {
			t.Errorf("replaced import %s.%s, want a.%s", rw.ImportModule, rw.ImportName, engine.MemoryImport)
		}
		if rw.Memory != (Limits{Min: 256, Max: 32768, HasMax: true}) {
			t.Errorf("memory limits %+v", rw.Memory)
		}
		r := wazero.NewRuntime(ctx)
		cm, err := r.CompileModule(ctx, rw.Binary)
		if err != nil {
			t.Fatalf("forSnapshot=%v: compile: %v", forSnapshot, err)
		}
		mem, ok := cm.ExportedMemories()["memory"]
		if !ok || mem.Min() != 256 {
			t.Errorf("forSnapshot=%v: memory not exported with min 256", forSnapshot)
		}
		for _, imp := range cm.ImportedMemories() {
			t.Errorf("memory still imported: %v", imp)
		}
		secs, err := parse(rw.Binary)
		if err != nil {
			t.Fatal(err)
		}
		var hasStart bool
		var dataBytes int
		for _, s := range secs {
			hasStart = hasStart || s.id == secStart
			if s.id == secData {
				dataBytes = len(s.payload)
			}
		}
		if hasStart == forSnapshot {
			t.Errorf("forSnapshot=%v: start section present=%v", forSnapshot, hasStart)
		}
		if forSnapshot && dataBytes > 1024 {
			t.Errorf("snapshot variant keeps %d bytes of data segments", dataBytes)
		}
		r.Close(ctx)
	}
}

// A tiny module importing memory and writing through it, built by hand.
func TestOwnMemoryTinyModule(t *testing.T) {
	bin := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	sec := func(id byte, payload ...byte) {
		bin = append(bin, id, byte(len(payload)))
		bin = append(bin, payload...)
	}
	sec(1, 1, 0x60, 0, 1, 0x7f)                  // type: () -> i32
	sec(2, 1, 1, 'm', 1, 'm', 2, 1, 1, 2)        // import m.m memory {min 1, max 2}
	sec(3, 1, 0)                                 // func 0: type 0
	sec(7, 1, 3, 'g', 'e', 't', 0, 0)            // export "get" func 0
	sec(10, 1, 7, 0, 0x41, 0, 0x28, 2, 0, 0x0b)  // get: i32.load (i32.const 0)
	sec(11, 1, 0, 0x41, 0, 0x0b, 4, 42, 0, 0, 0) // data at 0: 42
	for _, tc := range []struct {
		forSnapshot bool
		want        uint64
	}{{false, 42}, {true, 0}} {
		rw, err := OwnMemory(bin, tc.forSnapshot)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		r := wazero.NewRuntime(ctx)
		mod, err := r.Instantiate(ctx, rw.Binary)
		if err != nil {
			t.Fatalf("instantiate: %v", err)
		}
		got, err := mod.ExportedFunction("get").Call(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != tc.want {
			t.Errorf("forSnapshot=%v: memory[0] = %d, want %d", tc.forSnapshot, got[0], tc.want)
		}
		if mod.ExportedMemory("memory") == nil {
			t.Error("memory not exported")
		}
		r.Close(ctx)
	}
}

func TestOwnMemoryRejects(t *testing.T) {
	for name, bin := range map[string][]byte{
		"not wasm":  []byte("hello world"),
		"truncated": engine.Wasm()[:1000],
		"no memory": {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00},
		"empty":     nil,
	} {
		if _, err := OwnMemory(bin, false); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzOwnMemory checks that arbitrary input never panics and that accepted input
// stays a well-formed section list.
func FuzzOwnMemory(f *testing.F) {
	f.Add(engine.Wasm()[:4096])
	f.Add([]byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 2, 7, 1, 1, 'm', 1, 'm', 2, 0})
	f.Fuzz(func(t *testing.T, bin []byte) {
		rw, err := OwnMemory(bin, true)
		if err != nil {
			return
		}
		if _, err := parse(rw.Binary); err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		if !bytes.HasPrefix(rw.Binary, header) {
			t.Fatal("output lost the header")
		}
	})
}
