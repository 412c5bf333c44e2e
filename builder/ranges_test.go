package builder_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/reactord/reactord/builder"
)

// TestSemverRanges: dependencies may be npm ranges (Basis Theory's node22 proxy example
// declares "maskdata": "^1.3.2"); npm resolves them, the manifest keeps the requested
// range and shows the resolved version, and passing the lockfile back reproduces the
// same tree even where the range would now resolve to something newer.
func TestSemverRanges(t *testing.T) {
	b := newBuilder(t, builder.Config{Engine: engine})
	ctx := context.Background()
	code := []byte(`const MaskData = require('maskdata'); module.exports = async (event) => ({ raw: MaskData.maskPhone('1234567890') })`)
	first, err := b.Build(ctx, builder.Input{Code: code, Dependencies: map[string]string{"maskdata": "^1.3.2"}})
	if err != nil {
		t.Fatal(err)
	}
	m := first.Manifest
	if m.Dependencies["maskdata"] != "^1.3.2" || m.Resolved["maskdata"] != "1.3.4" {
		t.Fatalf("requested %v, resolved %v", m.Dependencies, m.Resolved)
	}
	if r := run(t, first.Bundle, `{}`); r.Status != 200 {
		t.Fatalf("the ranged build does not run: %d %s", r.Status, r.Body)
	}
	again, err := b.Build(ctx, builder.Input{Code: code, Dependencies: map[string]string{"maskdata": "^1.3.2"}, Lockfile: m.Lockfile})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Timings.InstallCached || again.Manifest.SHA256 != m.SHA256 || again.Manifest.Resolved["maskdata"] != "1.3.4" {
		t.Errorf("a rebuild with the lockfile did not reuse the install: cached %v, %s vs %s", again.Timings.InstallCached, again.Manifest.SHA256, m.SHA256)
	}

	// A lockfile made for dayjs 1.11.10, with the root now asking for ^1.11.10 (newer
	// 1.x versions exist): npm ci installs 1.11.10, not the newest match.
	pinnedBuild, err := b.Build(ctx, builder.Input{Code: []byte(`const d = require('dayjs'); module.exports = async () => ({ raw: d('2024-01-02T00:00:00Z').year() })`),
		Dependencies: map[string]string{"dayjs": "1.11.10"}})
	if err != nil {
		t.Fatal(err)
	}
	var lock map[string]any
	if err := json.Unmarshal(pinnedBuild.Manifest.Lockfile, &lock); err != nil {
		t.Fatal(err)
	}
	lock["packages"].(map[string]any)[""].(map[string]any)["dependencies"] = map[string]any{"dayjs": "^1.11.10"}
	edited, _ := json.Marshal(lock)
	in := builder.Input{Code: []byte(`const d = require('dayjs'); module.exports = async () => ({ raw: d('2024-01-02T00:00:00Z').year() })`), Dependencies: map[string]string{"dayjs": "^1.11.10"}}
	fresh, err := b.Build(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Lockfile = edited
	kept, err := b.Build(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if kept.Manifest.Resolved["dayjs"] != "1.11.10" || fresh.Manifest.Resolved["dayjs"] == "1.11.10" {
		t.Errorf("with the lockfile %s, resolved afresh %s", kept.Manifest.Resolved["dayjs"], fresh.Manifest.Resolved["dayjs"])
	}
	if r := run(t, kept.Bundle, `{}`); r.Status != 200 {
		t.Errorf("the build from the lockfile does not run: %d %s", r.Status, r.Body)
	}
}
