package flags

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

type Source interface {
	Fetch(ctx context.Context) (map[string]bool, error)
}

type Flags struct {
	mu    sync.RWMutex
	flags map[string]bool
	hits  map[string]int
	src   Source
}

func New(src Source, initial map[string]bool) *Flags {
	return &Flags{flags: initial, hits: make(map[string]int), src: src}
}

func (f *Flags) Enabled(name string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	f.hits[name]++
	return f.flags[name]
}

// Run reloads the flags every interval until ctx is done.
func (f *Flags) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.reload(ctx)
		}
	}
}

func (f *Flags) reload(ctx context.Context) {
	next, err := f.src.Fetch(ctx)
	if err != nil {
		slog.Warn("flag reload failed; keeping the previous flags", "err", err)
		return
	}
	f.flags = next
}
