package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/internal/osvtest"
	"github.com/reactord/reactord/runtime"
)

// measureBuilds times node22 builds: cold (an empty npm cache, so packages download
// from the registry), the same dependencies with new code (installs reused), and an
// identical repeat (the stored bundle reused).
func measureBuilds(ctx context.Context, eng *runtime.Engine, add func(name, value, target, note string)) error {
	dir, err := os.MkdirTemp("", "reactord-bench-build")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := osvtest.WriteDB(dir + "/osv")
	if err != nil {
		return err
	}
	b, err := builder.New(builder.Config{CacheDir: dir + "/cache", OSVDB: db, Engine: eng, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	deps := map[string]string{"dayjs": "1.11.13", "uuid": "11.1.0", "lodash": "4.17.21"}
	code := func(v int) []byte {
		return fmt.Appendf(nil, "const dayjs = require('dayjs'); const { v4 } = require('uuid'); const _ = require('lodash');\nmodule.exports = async () => ({ raw: [%d, dayjs(0).year(), v4().length, _.sum([1, 2])] });", v)
	}
	timed := func(in builder.Input) (time.Duration, error) {
		start := time.Now()
		_, err := b.Build(ctx, in)
		return time.Since(start), err
	}
	cold, err := timed(builder.Input{Code: code(1), Dependencies: deps})
	if err != nil {
		return err
	}
	newCode, err := timed(builder.Input{Code: code(2), Dependencies: deps})
	if err != nil {
		return err
	}
	repeat, err := timed(builder.Input{Code: code(2), Dependencies: deps})
	if err != nil {
		return err
	}
	add("node22 build: cold / new code, cached install / identical repeat", ms(cold)+" / "+ms(newCode)+" / "+ms(repeat), "",
		"dayjs, uuid, lodash: npm install without scripts, OSV scan, esbuild, load check")
	return nil
}
