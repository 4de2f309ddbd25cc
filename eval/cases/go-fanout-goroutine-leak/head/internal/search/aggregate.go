package search

import (
	"context"
	"sort"
)

type Hit struct {
	DocID string
	Score float64
}

type Shard interface {
	Query(ctx context.Context, q string, k int) ([]Hit, error)
}

type Aggregator struct {
	shards []Shard
}

type shardResult struct {
	hits []Hit
	err  error
}

// Search returns the k best hits over all shards.
func (a *Aggregator) Search(ctx context.Context, q string, k int) ([]Hit, error) {
	var all []Hit
	results := make(chan shardResult)
	for _, s := range a.shards {
		go func(s Shard) {
			hits, err := s.Query(ctx, q, k)
			results <- shardResult{hits, err}
		}(s)
	}
	for range a.shards {
		select {
		case r := <-results:
			all = append(all, r.hits...)
		case <-ctx.Done():
			return topK(all, k), nil
		}
	}
	return topK(all, k), nil
}

func topK(hits []Hit, k int) []Hit {
	sort.Slice(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}
