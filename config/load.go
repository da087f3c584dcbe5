package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by every configuration error.
var ErrInvalid = errors.New("invalid configuration")

// Error is one problem in a configuration file, at a line.
type Error struct {
	File string
	Line int // 1-based; 0 when the problem has no position
	Msg  string
}

// Error returns "file:line: message".
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Errors is every problem found in a file, in file order. Its Error joins
// them with newlines. It unwraps to each *Error (so to ErrInvalid).
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Options are the outside world Load may consult. The zero value reads no
// environment (every ${NAME} without a default is then an error) and reads
// files with os.ReadFile.
type Options struct {
	// Getenv looks up ${NAME} references; cmd passes os.Getenv. nil: none
	// set. An empty value counts as unset.
	Getenv func(string) string
	// ReadFile reads secret, key and CA files. nil: os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Load reads, expands and validates the configuration file at path.
// Relative file names inside it are relative to the file's directory.
// Errors wrap ErrInvalid and are an Errors value naming path and line,
// except a failure to read path itself.
func Load(path string, opts Options) (*Config, error) {
	read := opts.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	data, err := read(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data, opts)
}

// MaxFileSize bounds a configuration file.
const MaxFileSize = 1 << 20

// Parse is Load for data already read from the file called name.
func Parse(name string, data []byte, opts Options) (*Config, error) {
	l := &loader{file: name, dir: filepath.Dir(name), getenv: opts.Getenv, read: opts.ReadFile}
	if l.getenv == nil {
		l.getenv = func(string) string { return "" }
	}
	if l.read == nil {
		l.read = os.ReadFile
	}
	if len(data) > MaxFileSize {
		return nil, Errors{{File: name, Msg: "file is larger than 1 MiB"}}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: name, Msg: "file is empty"}}
		}
		return nil, l.yamlErrors(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, Errors{{File: name, Line: extra.Line, Msg: "only one YAML document is allowed"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, Errors{{File: name, Line: root.Line, Msg: "the top level must be a mapping"}}
	}
	l.root = root
	for i := 0; i+1 < len(root.Content); i += 2 {
		// Policy prefixes use ${claim} references of their own.
		if root.Content[i].Value != "policy" {
			l.expand(root.Content[i+1])
		}
	}
	l.checkNode(root, reflect.TypeFor[Config](), "")
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	cfg := &Config{File: name}
	if err := root.Decode(cfg); err != nil {
		return nil, l.yamlErrors(err)
	}
	l.validate(cfg)
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return cfg, nil
}

type loader struct {
	file, dir string
	getenv    func(string) string
	read      func(string) ([]byte, error)
	root      *yaml.Node
	errs      Errors
}

func (l *loader) errAt(line int, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// errorf reports a problem at the node found by path (keys and indices
// from the root); the nearest existing ancestor gives the line if the
// last element is absent.
func (l *loader) errorf(path []any, format string, args ...any) {
	l.errAt(l.line(path), format, args...)
}

func (l *loader) line(path []any) int {
	n := l.root
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next = n.Content[i+1]
						line = n.Content[i].Line
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlErrors turns yaml.v3 syntax and type errors into Errors with lines.
func (l *loader) yamlErrors(err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var out Errors
	for _, m := range msgs {
		e := &Error{File: l.file, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = sm[2]
		}
		out = append(out, e)
	}
	return out
}

// checkNode reports mapping keys that name no field of t (following yaml
// tags, inline structs, pointers, slices and maps), and duplicate keys.
func (l *loader) checkNode(n *yaml.Node, t reflect.Type, where string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		l.errAt(n.Line, "YAML aliases are not supported")
		return
	}
	if n.Kind == yaml.ScalarNode && implementsText(t) {
		// yaml.v3 reports TextUnmarshaler errors without a line: try
		// the value here to report it with one.
		v := reflect.New(t).Interface().(interface{ UnmarshalText([]byte) error })
		if err := v.UnmarshalText([]byte(n.Value)); err != nil {
			l.errAt(n.Line, "%s%v", where, err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode || implementsText(t) {
			return // a type error, reported by Decode
		}
		fields := yamlFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				l.errAt(k.Line, "YAML merge keys are not supported")
				continue
			}
			if seen[k.Value] {
				l.errAt(k.Line, "%s%q is set twice", where, k.Value)
				continue
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				l.errAt(k.Line, "unknown field %q%s", k.Value, in(where))
				continue
			}
			l.checkNode(v, ft, k.Value+": ")
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for _, c := range n.Content {
			l.checkNode(c, t.Elem(), where)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			l.checkNode(n.Content[i], t.Elem(), where)
		}
	}
}

func in(where string) string {
	if where == "" {
		return ""
	}
	return " in " + strings.TrimSuffix(where, ": ")
}

func implementsText(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]())
}

// yamlFields maps the YAML names of t's fields (inline structs flattened)
// to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			maps := yamlFields(f.Type)
			for k, v := range maps {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${NAME} and ${NAME:-default} in every scalar value (not
// in keys) under n. Parse skips the policy section, whose prefixes hold
// ${claim} templates. A missing variable without a default is an error.
func (l *loader) expand(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			l.expand(n.Content[i])
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			l.expand(c)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		v := envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			body := ref[2 : len(ref)-1]
			name, def, hasDef := strings.Cut(body, ":-")
			if !envName.MatchString(name) {
				l.errAt(n.Line, "bad environment reference %q: only ${NAME} and ${NAME:-default} are supported", ref)
				return ""
			}
			if v := l.getenv(name); v != "" {
				return v
			}
			if hasDef {
				return def
			}
			l.errAt(n.Line, "environment variable %s is not set (use ${%s:-default} for a default)", name, name)
			return ""
		})
		if strings.Contains(envRef.ReplaceAllString(n.Value, ""), "${") {
			l.errAt(n.Line, "unterminated ${ in value")
		}
		n.Value = v
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = "" // re-resolve: "${PORT}" may become an int
		}
	}
}

// readFile reads a file named in the config, relative to its directory.
func (l *loader) readFile(path []any, name string) ([]byte, bool) {
	b, err := l.read(l.abs(name))
	if err != nil {
		l.errorf(path, "reading %s: %v", name, unwrapPath(err))
		return nil, false
	}
	return b, true
}

func (l *loader) abs(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(l.dir, name)
}

// unwrapPath drops the *fs.PathError wrapper, whose path the message
// already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readSecret resolves a value/file pair: exactly one may be set.
func (l *loader) readSecret(path []any, field string, v *Secret, file string, required bool) {
	switch {
	case *v != "" && file != "":
		l.errorf(append(path, field), "%s and %s_file are both set; use one", field, field)
	case file != "":
		b, ok := l.readFile(append(path, field+"_file"), file)
		if ok {
			*v = Secret(strings.TrimRight(string(b), "\r\n"))
			if *v == "" {
				l.errorf(append(path, field+"_file"), "%s_file %s is empty", field, file)
			}
		}
	case *v == "" && required:
		l.errorf(path, "%s (or %s_file) is required", field, field)
	}
}
