package importer

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
)

// importFile inserts the rows of one CSV (sku,name,price_cents) within tx.
func importFile(ctx context.Context, tx *sql.Tx, r io.Reader) (int, error) {
	cr := csv.NewReader(r)
	n := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("row %d: %w", n+1, err)
		}
		price, err := strconv.Atoi(rec[2])
		if err != nil {
			return n, fmt.Errorf("row %d: bad price %q: %w", n+1, rec[2], err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO products (sku, name, price_cents) VALUES ($1, $2, $3)
			 ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents`,
			rec[0], rec[1], price); err != nil {
			return n, fmt.Errorf("row %d: %w", n+1, err)
		}
		n++
	}
}

// ImportDir imports every *.csv file of dir, one transaction per file.
func ImportDir(ctx context.Context, db *sql.DB, dir string) (int, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil {
		return 0, err
	}
	total := 0
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return total, err
		}
		defer f.Close()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return total, err
		}
		n, err := importFile(ctx, tx, f)
		if err != nil {
			slog.Error("import failed", "file", p, "err", err)
			continue
		}
		tx.Commit()
		total += n
		slog.Info("imported", "file", p, "rows", n)
	}
	return total, nil
}
