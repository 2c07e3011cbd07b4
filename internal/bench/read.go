package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// ReadTypes are the resource types the read workload reads: the person,
// the commonest clinical resource, and the visit.
var ReadTypes = []string{"Patient", "Observation", "Encounter"}

// ReadSample bounds the ids of each type the read workload samples.
const ReadSample = 2000

// Read reads resources by id (GET {type}/{id}), each worker choosing at
// random among up to ReadSample ids of each of ReadTypes, listed through
// the API first. Types the server holds none of are left out.
func Read(ctx context.Context, c *Client, o Options) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	var paths []string
	for _, typ := range ReadTypes {
		ids, err := c.ids(ctx, typ, ReadSample)
		if err != nil {
			return Result{}, fmt.Errorf("bench: read: listing %s ids: %w", typ, err)
		}
		for _, id := range ids {
			paths = append(paths, typ+"/"+url.PathEscape(id))
		}
	}
	if len(paths) == 0 {
		return Result{}, errors.New("bench: read: the server holds no Patient, Observation or Encounter to read")
	}
	r := newRunner(c, o)
	elapsed := r.run(ctx, 1, func(ctx context.Context, w *worker) {
		w.do(ctx, "read", http.MethodGet, paths[w.rng.IntN(len(paths))], nil, false, http.StatusOK)
	})
	return r.result("read", elapsed), nil
}

// EverythingPatients is the size of the everything workload's sample.
const EverythingPatients = 50

// Everything fetches Patient/{id}/$everything (its first page, at the
// server's page size) for patients chosen at random among a sample of
// EverythingPatients, themselves chosen at random (repeatably, by
// o.Seed) among up to 5,000 listed through the API.
func Everything(ctx context.Context, c *Client, o Options) (Result, error) {
	if err := o.check(); err != nil {
		return Result{}, err
	}
	ids, err := c.ids(ctx, "Patient", 5000)
	if err != nil {
		return Result{}, fmt.Errorf("bench: everything: listing Patient ids: %w", err)
	}
	if len(ids) == 0 {
		return Result{}, errors.New("bench: everything: the server holds no Patients")
	}
	r := newRunner(c, o)
	rng := r.workers[0].rng
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:min(len(ids), EverythingPatients)]
	elapsed := r.run(ctx, 1, func(ctx context.Context, w *worker) {
		w.do(ctx, "everything", http.MethodGet, "Patient/"+url.PathEscape(ids[w.rng.IntN(len(ids))])+"/$everything", nil, false, http.StatusOK)
	})
	return r.result("everything", elapsed), nil
}
