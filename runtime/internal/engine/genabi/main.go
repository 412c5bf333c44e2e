// Command genabi derives the engine's Go ABI table from the pinned
// @jitl/quickjs-ng-wasmfile-release-sync package: the minified export and import names
// from dist/emscripten-module.cjs and each C function's signature from dist/ffi.js.
//
// By default it checks the committed table, wasm and licence against the package and
// exits 1 with the differences; with -update it rewrites them.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// importRoles recognises each emscripten import by a fragment of its JS glue. A new
// package version that changes any of these fails the derivation instead of silently
// wiring a host function to the wrong import.
var importRoles = []struct{ role, fingerprint string }{
	{"assert_fail", "Assertion failed"},
	{"fd_write", "pa[k]"},
	{"fd_close", "()=>52"},
	{"environ_get", "J[a+e>>2]=g"},
	{"environ_sizes_get", "J[a>>2]=b.length"},
	{"load_module_source", "callbacks.loadModuleSource"},
	{"normalize_module", "callbacks.normalizeModule"},
	{"interrupt_handler", "callbacks.shouldInterrupt"},
	{"setitimer", "clearTimeout(T[a].id)"},
	{"resize_heap", "q.grow(e)"},
	{"keepalive_clear", "Q=!1;S=0"},
	{"localtime", "getSeconds()"},
	{"tzset", "`UTC${"},
	{"fd_seek", "return 70"},
	{"date_now", "()=>Date.now()"},
	{"clock_time_get", "BigInt(Math.round(1E6*"},
	{"abort", `()=>N("")`},
	{"proc_exit", "=ma"},
	{"host_call_function", "callbacks.callFunction"},
	{"free_host_ref", "callbacks.freeHostRef"},
}

func main() {
	pkg := flag.String("pkg", "", "directory of the unpacked npm package (contains dist/)")
	out := flag.String("out", "runtime/internal/engine", "engine package directory")
	version := flag.String("version", "", "package version, recorded in the table")
	integrity := flag.String("integrity", "", "npm integrity of the package tarball, recorded in the table")
	update := flag.Bool("update", false, "rewrite the committed files instead of checking them")
	flag.Parse()
	if *pkg == "" || *version == "" || *integrity == "" {
		fmt.Fprintln(os.Stderr, "usage: genabi -pkg DIR -version V -integrity SRI [-out DIR] [-update]")
		os.Exit(2)
	}
	if err := run(*pkg, *out, *version, *integrity, *update); err != nil {
		fmt.Fprintln(os.Stderr, "genabi:", err)
		os.Exit(1)
	}
}

func run(pkg, out, version, integrity string, update bool) error {
	glue, err := os.ReadFile(filepath.Join(pkg, "dist", "emscripten-module.cjs"))
	if err != nil {
		return err
	}
	ffi, err := os.ReadFile(filepath.Join(pkg, "dist", "ffi.js"))
	if err != nil {
		return err
	}
	wasm, err := os.ReadFile(filepath.Join(pkg, "dist", "emscripten-module.wasm"))
	if err != nil {
		return err
	}
	license, err := os.ReadFile(filepath.Join(pkg, "LICENSE"))
	if err != nil {
		return err
	}
	table, err := derive(string(glue), string(ffi))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(wasm)
	src, err := render(table, version, integrity, hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"abi_gen.go":      src,
		"quickjs-ng.wasm": wasm,
		"LICENSE.quickjs": license,
	}
	var stale []string
	for name, want := range files {
		path := filepath.Join(out, name)
		if update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				return err
			}
			continue
		}
		have, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(have, want) {
			stale = append(stale, path)
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		return fmt.Errorf("the engine ABI derived from the package differs from the committed files: %s\n"+
			"review the package change, then run `make engine-update`", strings.Join(stale, ", "))
	}
	return nil
}

type fn struct {
	Name, Export, Result string
	Params               []string
}

type table struct {
	Funcs   []fn
	Imports map[string]string // role -> import name
	Memory  string
	Ctors   string
	Stack   map[string]string // stackSave, stackRestore, stackAlloc -> export
}

func derive(glue, ffi string) (table, error) {
	t := table{Imports: map[string]string{}, Stack: map[string]string{}}

	exports := map[string]string{}
	for _, m := range regexp.MustCompile(`c\._(\w+)=\s*b\.([\w$]+)`).FindAllStringSubmatch(glue, -1) {
		exports[m[1]] = m[2]
	}
	if len(exports) < 50 {
		return t, fmt.Errorf("found only %d exports in the glue; its format changed", len(exports))
	}
	sigs := regexp.MustCompile(`cwrap\("(\w+)",(null|"\w+"),\[([^\]]*)\]\)`).FindAllStringSubmatch(ffi, -1)
	if len(sigs) < 50 {
		return t, fmt.Errorf("found only %d signatures in ffi.js; its format changed", len(sigs))
	}
	for _, m := range sigs {
		exp, ok := exports[m[1]]
		if !ok {
			return t, fmt.Errorf("ffi.js declares %s but the glue does not export it", m[1])
		}
		f := fn{Name: m[1], Export: exp, Result: strings.Trim(m[2], `"`)}
		for _, p := range strings.Split(m[3], ",") {
			if p = strings.Trim(p, `"`); p != "" {
				f.Params = append(f.Params, p)
			}
		}
		t.Funcs = append(t.Funcs, f)
	}
	for _, c := range []string{"malloc", "free"} {
		exp, ok := exports[c]
		if !ok {
			return t, fmt.Errorf("glue does not export _%s", c)
		}
		t.Funcs = append(t.Funcs, fn{Name: c, Export: exp, Result: "number", Params: []string{"number"}})
	}
	sort.Slice(t.Funcs, func(i, j int) bool { return t.Funcs[i].Name < t.Funcs[j].Name })

	m := regexp.MustCompile(`Z\.(\w+)\(\);E\?\.\(c\)`).FindStringSubmatch(glue)
	if m == nil {
		return t, fmt.Errorf("cannot find the __wasm_call_ctors call in the glue")
	}
	t.Ctors = m[1]
	for role, pat := range map[string]string{
		"stackRestore": `0!==h&&(\w+)\(h\)`,
		"stackAlloc":   `l=(\w+)\(k\.length\)`,
		"stackSave":    `0===h&&\(h=(\w+)\(\)\)`,
	} {
		v := regexp.MustCompile(pat).FindStringSubmatch(glue)
		if v == nil {
			return t, fmt.Errorf("cannot find %s in the glue", role)
		}
		e := regexp.MustCompile(regexp.QuoteMeta(v[1]) + `=b\.([\w$]+)`).FindStringSubmatch(glue)
		if e == nil {
			return t, fmt.Errorf("cannot find the export bound to %s", role)
		}
		t.Stack[role] = e[1]
	}

	obj, err := importObject(glue)
	if err != nil {
		return t, err
	}
	seen := map[string]string{}
	for key, body := range obj {
		if body == "q" {
			t.Memory = key
			continue
		}
		var roles []string
		for _, r := range importRoles {
			if strings.Contains(body, r.fingerprint) || (strings.HasPrefix(r.fingerprint, "=") && body == r.fingerprint[1:]) {
				roles = append(roles, r.role)
			}
		}
		if len(roles) != 1 {
			return t, fmt.Errorf("import %q matches roles %v (want exactly one): %.80s", key, roles, body)
		}
		if prev, dup := seen[roles[0]]; dup {
			return t, fmt.Errorf("imports %q and %q both match %s", prev, key, roles[0])
		}
		seen[roles[0]] = key
		t.Imports[roles[0]] = key
	}
	if t.Memory == "" {
		return t, fmt.Errorf("the glue no longer passes its memory as an import")
	}
	for _, r := range importRoles {
		if _, ok := t.Imports[r.role]; !ok {
			return t, fmt.Errorf("no import found for %s", r.role)
		}
	}
	return t, nil
}

// importObject returns the keys and value sources of the object literal the glue
// passes as the wasm import module "a".
func importObject(glue string) (map[string]string, error) {
	m := regexp.MustCompile(`var d=\{a:(\w+)\}`).FindStringSubmatch(glue)
	if m == nil {
		return nil, fmt.Errorf("cannot find the import object in the glue")
	}
	start := strings.Index(glue, m[1]+"={")
	if start < 0 {
		return nil, fmt.Errorf("cannot find the definition of %s", m[1])
	}
	s := glue[start+len(m[1])+2:]
	out := map[string]string{}
	depth, i, entry := 0, 0, 0
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			j, err := skipString(s, i)
			if err != nil {
				return nil, err
			}
			i = j
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			if depth == 0 {
				if err := addEntry(out, s[entry:i]); err != nil {
					return nil, err
				}
				return out, nil
			}
			depth--
		case ',':
			if depth == 0 {
				if err := addEntry(out, s[entry:i]); err != nil {
					return nil, err
				}
				entry = i + 1
			}
		}
	}
	return nil, fmt.Errorf("unterminated import object")
}

func addEntry(out map[string]string, e string) error {
	k, v, ok := strings.Cut(e, ":")
	if !ok {
		return fmt.Errorf("malformed import entry %.40q", e)
	}
	out[k] = v
	return nil
}

// skipString returns the index of the closing quote of the literal opening at i.
// Template literals may nest expressions with further literals.
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j, nil
		case '$':
			if q == '`' && j+1 < len(s) && s[j+1] == '{' {
				depth := 0
				for j++; j < len(s); j++ {
					if s[j] == '{' {
						depth++
					} else if s[j] == '}' {
						if depth--; depth == 0 {
							break
						}
					} else if s[j] == '"' || s[j] == '\'' || s[j] == '`' {
						k, err := skipString(s, j)
						if err != nil {
							return 0, err
						}
						j = k
					}
				}
			}
		}
	}
	return 0, fmt.Errorf("unterminated string literal")
}

func render(t table, version, integrity, wasmSHA string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by genabi from @jitl/quickjs-ng-wasmfile-release-sync@%s; DO NOT EDIT.\n\n", version)
	b.WriteString("package engine\n\n")
	fmt.Fprintf(&b, "// PackageVersion is the npm version the engine wasm and this table come from.\nconst PackageVersion = %q\n\n", version)
	fmt.Fprintf(&b, "// PackageIntegrity is the npm integrity (SRI) of that package's tarball.\nconst PackageIntegrity = %q\n\n", integrity)
	fmt.Fprintf(&b, "// WasmSHA256 is the sha256 of quickjs-ng.wasm as shipped in the package.\nconst WasmSHA256 = %q\n\n", wasmSHA)
	fmt.Fprintf(&b, "// MemoryImport is the name, in import module %q, of the imported linear memory.\nconst MemoryImport = %q\n\n", "a", t.Memory)
	fmt.Fprintf(&b, "// CtorsExport runs the C constructors (__wasm_call_ctors).\nconst CtorsExport = %q\n\n", t.Ctors)
	b.WriteString("// Funcs maps each C function the runtime may call to its export and signature.\nvar Funcs = map[string]Func{\n")
	for _, f := range t.Funcs {
		fmt.Fprintf(&b, "\t%q: {Export: %q, Result: %q, Params: %#v},\n", f.Name, f.Export, f.Result, f.Params)
	}
	b.WriteString("}\n\n// Stack maps emscripten's stack helpers to their exports.\nvar Stack = map[string]string{\n")
	for _, k := range sortedKeys(t.Stack) {
		fmt.Fprintf(&b, "\t%q: %q,\n", k, t.Stack[k])
	}
	b.WriteString("}\n\n// Imports maps each host function the engine needs, by role, to its import name in module \"a\".\nvar Imports = map[string]string{\n")
	for _, k := range sortedKeys(t.Imports) {
		fmt.Fprintf(&b, "\t%q: %q,\n", k, t.Imports[k])
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
