package channels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxResponseBody bounds what is read of a provider's answer: provider
// replies are small, and an endless body must not stall the outbox.
const maxResponseBody = 1 << 20

// Response is a provider's answer to one request, fully read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Exchange performs req with client and reads the whole (bounded) answer.
// Transport failures (refused or closed connections, timeouts, cut bodies)
// come back as a ClassRetry *Error whose Detail has secrets and any bot
// token or credential parameter redacted.
func Exchange(client *http.Client, req *http.Request, secrets ...string) (Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, NetworkError(err, secrets...)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return Response{}, NetworkError(fmt.Errorf("reading the %d answer: %w", resp.StatusCode, err), secrets...)
	}
	// Drain what the limit left so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// NetworkError classifies a failure to reach the provider as a retry; the
// detail says whether it was a timeout and carries no secret.
func NetworkError(err error, secrets ...string) *Error {
	detail := RedactError(err, secrets...)
	if errors.Is(err, context.DeadlineExceeded) {
		detail = "timed out: " + detail
	}
	return &Error{Class: ClassRetry, Code: "network", Detail: detail}
}

// ClassifyHTTP is the fallback for answers whose provider code is unknown or
// missing: it reads the HTTP status alone. Adapters call it only after their
// code tables found nothing, since providers reuse statuses across classes.
func ClassifyHTTP(status int, code, detail string) *Error {
	e := &Error{Code: code, Detail: detail, HTTPStatus: status}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Class = ClassConfig
	case status == http.StatusTooManyRequests:
		e.Class, e.Scope = ClassThrottle, ScopeChannel
	case status == http.StatusRequestTimeout || status >= 500:
		e.Class = ClassRetry
	default:
		e.Class = ClassPermanent
	}
	return e
}

// Call performs req with Exchange and hands a non-2xx answer to classify,
// which reads the provider's error body.
func Call(client *http.Client, req *http.Request, classify func(status int, body []byte) *Error, secrets ...string) (Response, error) {
	resp, err := Exchange(client, req, secrets...)
	if err != nil {
		return resp, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return resp, classify(resp.Status, resp.Body)
	}
	return resp, nil
}
