package projections

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// This file is the codec of read-model snapshots: it writes the fold state
// of a set of projections (pointers to their structs, the roots) as one
// object graph, every field included, exported or not, and reads it back
// into fresh projections of the same types. Whatever field a fold gains is
// carried without a line here; a field the codec cannot carry (a channel, a
// non-nil interface it was not told about) makes the snapshot fail rather
// than restore a fold without it. Pointers keep their identity: a campaign's
// targets, keyed by the customers' fold state, point at the very customers
// the customer read model holds after a restore.
//
// What is not state is not written: functions (hooks set when the
// projection is built), mutexes, and the fields named in snapshotSkip. A
// restore leaves those as the fresh projection has them.

// snapshotSkip names the struct fields (type.field) a snapshot leaves out:
// configuration a projection is built with, and allocation detail.
var snapshotSkip = map[string]bool{
	"projections.Sampler.store":   true, // where Flush appends: configuration
	"projections.Segmenter.store": true,
	"projections.Search.index":    true, // the blind index: configuration
	"projections.campaign.slab":   true, // allocation blocks; the targets map holds every target
}

// snapshotConfig names the struct fields (type.field) that are the
// configuration a fold's state was computed under: a snapshot writes them,
// and a restore into folds configured otherwise is refused (the state
// would not be what a replay under the new configuration makes).
var snapshotConfig = map[string]bool{
	"projections.Customers.rule": true, // the survivorship rule (--survivorship)
	"projections.Segmenter.rule": true, // the tier rule
	"projections.Sampler.policy": true, // the built-in plan and the days' zone (--sample-*)
}

// searchProbe is the value whose terms tell search indexes apart without
// holding their keys (as the PostgreSQL read store's rm_search does).
const searchProbe = "dangol search index probe"

// configPrint describes the configuration of roots the codec cannot
// compare field by field, a search fold's index being a function: a hash
// of searchProbe's terms under it. A snapshot records it; a restore into
// folds that print otherwise is refused.
func configPrint(roots []Projection) string {
	for _, r := range roots {
		if s, ok := r.(*Search); ok && s.index != nil {
			terms := slices.Clone(s.index("name", searchProbe))
			slices.Sort(terms)
			sum := sha256.Sum256([]byte(strings.Join(terms, "\x00")))
			return "search " + hex.EncodeToString(sum[:8])
		}
	}
	return ""
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	locationType = reflect.TypeFor[*time.Location]()
	mutexType    = reflect.TypeFor[sync.Mutex]()
	rwMutexType  = reflect.TypeFor[sync.RWMutex]()
)

type ptrKey struct {
	p unsafe.Pointer
	t reflect.Type
}

type graphEncoder struct {
	w    *bufio.Writer
	ptrs map[ptrKey]uint64
	buf  [binary.MaxVarintLen64]byte
}

func (e *graphEncoder) uvarint(n uint64) {
	k := binary.PutUvarint(e.buf[:], n)
	e.w.Write(e.buf[:k])
}

func (e *graphEncoder) varint(n int64) {
	k := binary.PutVarint(e.buf[:], n)
	e.w.Write(e.buf[:k])
}

func (e *graphEncoder) str(s string) { e.uvarint(uint64(len(s))); e.w.WriteString(s) }

// writable returns v with the read-only flag of an unexported field
// cleared; v must be addressable.
func writable(v reflect.Value) reflect.Value {
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// addressable returns v, or an addressable copy of it (a map's key or
// value) when its fields must be reached through their address.
func addressable(v reflect.Value) reflect.Value {
	if k := v.Kind(); k != reflect.Struct && k != reflect.Array {
		return v
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	return c
}

// fieldPlan is one struct field a snapshot carries.
type fieldPlan struct {
	index      int
	unexported bool
	config     bool   // in snapshotConfig
	path       string // type.field, for errors
}

var fieldPlans sync.Map // reflect.Type → []fieldPlan

// structPlan returns the fields of t a snapshot carries, in order.
func structPlan(t reflect.Type) []fieldPlan {
	if p, ok := fieldPlans.Load(t); ok {
		return p.([]fieldPlan)
	}
	var plan []fieldPlan
	for i := range t.NumField() {
		f := t.Field(i)
		if path := t.String() + "." + f.Name; !snapshotSkip[path] {
			plan = append(plan, fieldPlan{index: i, unexported: !f.IsExported(), config: snapshotConfig[path], path: path})
		}
	}
	fieldPlans.Store(t, plan)
	return plan
}

func (e *graphEncoder) value(v reflect.Value, path string) error {
	t := v.Type()
	switch t.Kind() {
	case reflect.Bool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		e.w.WriteByte(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.varint(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uvarint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.uvarint(math.Float64bits(v.Float()))
	case reflect.String:
		e.str(v.String())
	case reflect.Slice:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		e.uvarint(uint64(v.Len()) + 1)
		if t.Elem().Kind() == reflect.Uint8 {
			e.w.Write(v.Bytes())
			return nil
		}
		for i := range v.Len() {
			if err := e.value(v.Index(i), path); err != nil {
				return err
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			if err := e.value(v.Index(i), path); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		e.uvarint(uint64(v.Len()) + 1)
		it := v.MapRange()
		for it.Next() {
			if err := e.value(addressable(it.Key()), path); err != nil {
				return err
			}
			if err := e.value(addressable(it.Value()), path); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		return e.pointer(v, path)
	case reflect.Struct:
		return e.structure(v, path)
	case reflect.Func:
		return nil // a hook, set when the projection is built
	default: // interfaces, channels
		if v.IsNil() {
			return nil
		}
		return fmt.Errorf("snapshot: %s (%s) cannot be carried", path, t)
	}
	return nil
}

func (e *graphEncoder) pointer(v reflect.Value, path string) error {
	if v.IsNil() {
		e.uvarint(0)
		return nil
	}
	if v.Type() == locationType {
		loc := v.Interface().(*time.Location)
		_, offset := time.Unix(0, 0).In(loc).Zone()
		e.uvarint(1)
		e.str(loc.String())
		e.varint(int64(offset))
		return nil
	}
	k := ptrKey{v.UnsafePointer(), v.Type()}
	if id, ok := e.ptrs[k]; ok {
		e.uvarint(id)
		return nil
	}
	id := uint64(len(e.ptrs)) + 2 // 0: nil, 1: a location
	e.ptrs[k] = id
	e.uvarint(id)
	return e.value(v.Elem(), path)
}

func (e *graphEncoder) structure(v reflect.Value, path string) error {
	t := v.Type()
	switch t {
	case timeType:
		b, err := v.Interface().(time.Time).MarshalBinary()
		if err != nil {
			return fmt.Errorf("snapshot: %s: %w", path, err)
		}
		e.uvarint(uint64(len(b)))
		e.w.Write(b)
		return nil
	case mutexType, rwMutexType:
		return nil
	}
	return eachField(v, func(fv reflect.Value, f fieldPlan) error { return e.value(fv, f.path) })
}

// eachField calls fn with each field of struct v a snapshot carries,
// settable whether exported or not.
func eachField(v reflect.Value, fn func(fv reflect.Value, f fieldPlan) error) error {
	for _, f := range structPlan(v.Type()) {
		fv := v.Field(f.index)
		if f.unexported {
			fv = writable(fv)
		}
		if err := fn(fv, f); err != nil {
			return err
		}
	}
	return nil
}

type graphDecoder struct {
	r     *bufio.Reader
	ptrs  map[uint64]reflect.Value
	limit uint64 // no length read can exceed it: the snapshot's size
}

var errSnapshotCorrupt = errors.New("snapshot: corrupt")

func (d *graphDecoder) uvarint() (uint64, error) {
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return 0, errSnapshotCorrupt
	}
	return n, nil
}

// length reads a length written as n+1 (0: nil) and bounds it by the
// snapshot's size (every element takes a byte at least), so a corrupt
// length allocates nothing huge.
func (d *graphDecoder) length() (n int, isNil bool, err error) {
	u, err := d.uvarint()
	if err != nil {
		return 0, false, err
	}
	if u == 0 {
		return 0, true, nil
	}
	if u-1 > d.limit {
		return 0, false, errSnapshotCorrupt
	}
	return int(u - 1), false, nil
}

func (d *graphDecoder) bytes(n uint64) ([]byte, error) {
	if n > d.limit {
		return nil, errSnapshotCorrupt
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, errSnapshotCorrupt
	}
	return b, nil
}

func (d *graphDecoder) str() (string, error) {
	n, err := d.uvarint()
	if err != nil {
		return "", err
	}
	b, err := d.bytes(n)
	return unsafe.String(unsafe.SliceData(b), len(b)), err
}

func (d *graphDecoder) value(v reflect.Value) error {
	t := v.Type()
	switch t.Kind() {
	case reflect.Bool:
		b, err := d.r.ReadByte()
		if err != nil || b > 1 {
			return errSnapshotCorrupt
		}
		v.SetBool(b == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := binary.ReadVarint(d.r)
		if err != nil || v.OverflowInt(n) {
			return errSnapshotCorrupt
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := d.uvarint()
		if err != nil || v.OverflowUint(n) {
			return errSnapshotCorrupt
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(n))
	case reflect.String:
		s, err := d.str()
		if err != nil {
			return err
		}
		v.SetString(s)
	case reflect.Slice:
		return d.slice(v)
	case reflect.Array:
		for i := range v.Len() {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		return d.mapping(v)
	case reflect.Pointer:
		return d.pointer(v)
	case reflect.Struct:
		return d.structure(v)
	}
	return nil // functions, and the nil interfaces and channels the encoder wrote nothing for
}

func (d *graphDecoder) slice(v reflect.Value) error {
	n, isNil, err := d.length()
	if err != nil || isNil {
		v.SetZero()
		return err
	}
	if v.Type().Elem().Kind() == reflect.Uint8 {
		b, err := d.bytes(uint64(n))
		if err != nil {
			return err
		}
		v.SetBytes(b)
		return nil
	}
	s := reflect.MakeSlice(v.Type(), n, n)
	for i := range n {
		if err := d.value(s.Index(i)); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func (d *graphDecoder) mapping(v reflect.Value) error {
	n, isNil, err := d.length()
	if err != nil || isNil {
		v.SetZero()
		return err
	}
	t := v.Type()
	m := reflect.MakeMapWithSize(t, min(n, 1<<20))
	k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
	for range n {
		k.SetZero()
		e.SetZero()
		if err := d.value(k); err != nil {
			return err
		}
		if err := d.value(e); err != nil {
			return err
		}
		m.SetMapIndex(k, e)
	}
	v.Set(m)
	return nil
}

func (d *graphDecoder) pointer(v reflect.Value) error {
	id, err := d.uvarint()
	switch {
	case err != nil:
		return err
	case id == 0:
		v.SetZero()
		return nil
	case id == 1:
		if v.Type() != locationType {
			return errSnapshotCorrupt
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		offset, err := binary.ReadVarint(d.r)
		if err != nil {
			return errSnapshotCorrupt
		}
		loc, err := time.LoadLocation(name)
		if err != nil { // a fixed zone (time.FixedZone): its name is no zone database entry
			loc = time.FixedZone(name, int(offset))
		}
		v.Set(reflect.ValueOf(loc))
		return nil
	}
	if p, ok := d.ptrs[id]; ok {
		if p.Type() != v.Type() {
			return errSnapshotCorrupt
		}
		v.Set(p)
		return nil
	}
	if id != uint64(len(d.ptrs))+2 {
		return errSnapshotCorrupt
	}
	p := reflect.New(v.Type().Elem())
	d.ptrs[id] = p
	v.Set(p)
	return d.value(p.Elem())
}

func (d *graphDecoder) structure(v reflect.Value) error {
	t := v.Type()
	switch t {
	case timeType:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		b, err := d.bytes(n)
		if err != nil {
			return err
		}
		var tm time.Time
		if err := tm.UnmarshalBinary(b); err != nil {
			return errSnapshotCorrupt
		}
		v.Set(reflect.ValueOf(tm))
		return nil
	case mutexType, rwMutexType:
		return nil
	}
	return eachField(v, func(fv reflect.Value, f fieldPlan) error {
		if f.config {
			return d.sameConfig(fv, f.path)
		}
		return d.value(fv)
	})
}

// sameConfig reads a configuration field and refuses the snapshot unless
// it equals fv, the fresh fold's.
func (d *graphDecoder) sameConfig(fv reflect.Value, path string) error {
	was := reflect.New(fv.Type()).Elem()
	if err := d.value(was); err != nil {
		return err
	}
	if !reflect.DeepEqual(was.Interface(), fv.Interface()) {
		return fmt.Errorf("snapshot: taken under another %s (configuration): replaying under this one", path)
	}
	return nil
}

// fingerprint describes the types of roots, field by field, as a hash: a
// snapshot written by a binary whose folds hold other fields (another
// release) is refused rather than read into the wrong ones.
func fingerprint(roots []Projection) string {
	var b strings.Builder
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		b.WriteString(t.String())
		if seen[t] || t == timeType || t == locationType {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			b.WriteByte('<')
			walk(t.Elem())
			b.WriteByte('>')
		case reflect.Map:
			b.WriteByte('<')
			walk(t.Key())
			b.WriteByte(',')
			walk(t.Elem())
			b.WriteByte('>')
		case reflect.Struct:
			b.WriteByte('{')
			for i := range t.NumField() {
				f := t.Field(i)
				if snapshotSkip[t.String()+"."+f.Name] {
					continue
				}
				b.WriteString(f.Name)
				b.WriteByte(' ')
				walk(f.Type)
				b.WriteByte(';')
			}
			b.WriteByte('}')
		}
	}
	for _, r := range roots {
		walk(reflect.TypeOf(r))
		b.WriteByte('\n')
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}
