package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
)

// BuildEvent is one build status change.
type BuildEvent struct {
	Pipeline string `json:"pipeline"`
	Status   string `json:"status"`
	URL      string `json:"url"`
}

// Chat posts events to a chat webhook.
type Chat struct {
	WebhookURL string
	client     *http.Client
}

func NewChat(url string) *Chat {
	return &Chat{WebhookURL: url, client: &http.Client{}}
}

func (c *Chat) Notify(ctx context.Context, ev BuildEvent) error {
	body, err := json.Marshal(map[string]string{
		"text": fmt.Sprintf("%s: %s (%s)", ev.Pipeline, ev.Status, ev.URL),
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("post to chat webhook: %w", err)
	}
	slog.Debug("chat notified", "pipeline", ev.Pipeline, "status", resp.Status)
	return nil
}
