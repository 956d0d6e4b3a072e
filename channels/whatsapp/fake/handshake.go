package fake

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Handshake plays Meta's subscription check against the app's webhook URL:
// the right verify token must get the challenge echoed with 200, a wrong
// one must get 403. It returns what went wrong, if anything.
func Handshake(ctx context.Context, client *http.Client, callback, verifyToken string) error {
	const challenge = "1158201444"
	status, body, err := handshakeOnce(ctx, client, callback, verifyToken, challenge)
	if err != nil {
		return err
	}
	if status != http.StatusOK || body != challenge {
		return fmt.Errorf("with the right verify token: got %d %q, want 200 %q", status, body, challenge)
	}
	status, _, err = handshakeOnce(ctx, client, callback, verifyToken+"-wrong", challenge)
	if err != nil {
		return err
	}
	if status != http.StatusForbidden {
		return fmt.Errorf("with a wrong verify token: got %d, want 403", status)
	}
	return nil
}

func handshakeOnce(ctx context.Context, client *http.Client, callback, token, challenge string) (int, string, error) {
	u, err := url.Parse(callback)
	if err != nil {
		return 0, "", fmt.Errorf("callback URL: %w", err)
	}
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.verify_token", token)
	q.Set("hub.challenge", challenge)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("calling the webhook: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}
