package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runHealth is `dangol health --url URL`: the healthcheck of the container
// image, which has no shell nor curl (docker-compose.yml runs it on the
// metrics listener's /healthz). It succeeds when URL answers 200 within
// --timeout.
func runHealth(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("health", "Asks --url and exits 0 if it answers 200, 1 otherwise: a container\n"+
		"healthcheck that needs no shell.", stderr)
	url := fs.String("url", "http://127.0.0.1:9090/healthz", "what to ask (the metrics listener's /healthz by default)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %d", *url, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
