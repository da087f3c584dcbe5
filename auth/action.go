package auth

import (
	"fmt"
	"strings"
)

// Action is what a request does, as the proxy's request classifier maps an
// OSS operation to it. Actions are bit flags so a set of actions is an
// Action too (ActionRead|ActionList).
//
// Object-level actions (read, list, write, delete) are scoped by key prefix.
// Bucket-level actions are authorized with an empty key, so only rules that
// cover the whole bucket grant them. ActionServiceList is authorized with an
// empty bucket and key.
type Action uint16

// Actions.
const (
	// ActionRead: GetObject, HeadObject, GetObjectMeta, GetObjectACL,
	// GetObjectTagging, GetSymlink, SelectObject, and the source of a copy.
	ActionRead Action = 1 << iota
	// ActionList: ListObjects(V2), ListObjectVersions, ListMultipartUploads,
	// ListParts. The key is the list's prefix parameter.
	ActionList
	// ActionWrite: PutObject, AppendObject, PostObject, multipart upload
	// (initiate, upload part, complete, abort), PutSymlink, object tagging
	// changes, RestoreObject, and the target of a copy. Changing an ACL
	// also needs ActionACL.
	ActionWrite
	// ActionDelete: DeleteObject, DeleteMultipleObjects (each key), DeleteObjectTagging.
	ActionDelete
	// ActionBucketRead: GetBucketInfo, GetBucketLocation, GetBucketAcl,
	// GetBucketStat and other bucket configuration reads.
	ActionBucketRead
	// ActionBucketWrite: PutBucketAcl, bucket CORS/lifecycle/… changes,
	// PutBucket and DeleteBucket.
	ActionBucketWrite
	// ActionServiceList: ListBuckets (GetService).
	ActionServiceList
	// ActionACL: changing an ACL, needed in addition to ActionWrite or
	// ActionBucketWrite: PutObjectAcl, PutBucketAcl, and any request
	// carrying an x-oss-object-acl or x-oss-acl header (PutObject,
	// CopyObject, InitiateMultipartUpload, PutSymlink, PutBucket…). It is
	// scoped by key prefix like the object actions; for a bucket ACL the
	// key is "", so only a rule covering the whole bucket grants it.
	// Only "*" grants it besides naming it: a writer cannot make what it
	// writes public.
	ActionACL

	actionEnd
	// ActionAll is every action.
	ActionAll = actionEnd - 1
)

var actionNames = [...]struct {
	a    Action
	name string
}{
	{ActionRead, "read"},
	{ActionList, "list"},
	{ActionWrite, "write"},
	{ActionDelete, "delete"},
	{ActionBucketRead, "bucket-read"},
	{ActionBucketWrite, "bucket-write"},
	{ActionServiceList, "service-list"},
	{ActionACL, "acl"},
}

const objectActions = ActionRead | ActionList | ActionWrite | ActionDelete | ActionACL

// String returns the config name of a single action ("read", "bucket-read",
// …), "*" for ActionAll, or the names of a set joined by "|".
func (a Action) String() string {
	if a == ActionAll {
		return "*"
	}
	var b strings.Builder
	for _, n := range actionNames {
		if a&n.a != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
			a &^= n.a
		}
	}
	if a != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "Action(%#x)", uint16(a))
	}
	return b.String()
}

// ParseAction parses a config name: one of "read", "list", "write",
// "delete", "bucket-read", "bucket-write", "service-list", "acl", or "*"
// for all.
func ParseAction(s string) (Action, error) {
	if s == "*" {
		return ActionAll, nil
	}
	for _, n := range actionNames {
		if n.name == s {
			return n.a, nil
		}
	}
	return 0, fmt.Errorf("parsing action %q: %w", s, ErrInvalidPolicy)
}

// MarshalText implements encoding.TextMarshaler (YAML and JSON use it).
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for a single action name.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
