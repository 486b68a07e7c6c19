// gitops-check runs an object through what Argo CD and Flux would run it through, so the
// tests judge docs/gitops/argocd/*.lua and our conditions with the real libraries:
//
//	gitops-check lua SCRIPT OBJ.json...   Argo CD's health Lua VM (gopher-lua, the libraries
//	                                      Argo CD opens for a health check from argocd-cm)
//	gitops-check kstatus OBJ.json...      kstatus Compute (sigs.k8s.io/cli-utils), which Flux's
//	                                      health checks and `kubectl wait`-like tools read
//
// Each object prints one JSON line {"file","status","message"}; an object a script cannot
// judge (a Lua error, a non-table result) prints {"file","error"} and the exit code is 1.
// OBJ may be "-" for stdin. Built by hack/gitops-check/build (pinned in go.sum, cached).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	File    string `json:"file"`
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gitops-check lua SCRIPT OBJ.json... | gitops-check kstatus OBJ.json...")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	var judge func(obj map[string]interface{}) (string, string, error)
	files := os.Args[2:]
	switch os.Args[1] {
	case "lua":
		if len(os.Args) < 4 {
			usage()
		}
		src, err := os.ReadFile(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		files = os.Args[3:]
		judge = func(obj map[string]interface{}) (string, string, error) { return argoHealth(string(src), obj) }
	case "kstatus":
		judge = kstatusOf
	default:
		usage()
	}
	rc := 0
	enc := json.NewEncoder(os.Stdout)
	for _, f := range files {
		r := result{File: f}
		obj, err := readObject(f)
		if err == nil {
			r.Status, r.Message, err = judge(obj)
		}
		if err != nil {
			r = result{File: f, Error: err.Error()}
			rc = 1
		}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(rc)
}

// readObject decodes as the apiserver client does for unstructured objects: integers become
// int64, other numbers float64 (k8s.io/apimachinery/pkg/util/json).
func readObject(path string) (map[string]interface{}, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u.Object, nil
}

func kstatusOf(obj map[string]interface{}) (string, string, error) {
	res, err := status.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		return "", "", err
	}
	return string(res.Status), res.Message, nil
}

// The health codes Argo CD accepts from a script; anything else becomes Unknown with
// Argo's own message, as in Argo CD's util/lua.
var healthCodes = map[string]bool{"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true}

const invalidHealthStatus = "Lua returned an invalid health status"

// argoHealth runs a health script the way Argo CD runs one configured in argocd-cm without
// useOpenLibs: only the package, base and table libraries (no string, math or io; Argo's
// restricted os is left out too, so a script that needs it fails here), a one-second
// budget, the object as the global `obj`, and the chunk's return value read as
// {status, message}.
func argoHealth(script string, obj map[string]interface{}) (string, string, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true},
			lua.LString(lib.name)); err != nil {
			return "", "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return "", "", err
	}
	ret := l.Get(-1)
	tbl, ok := ret.(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("expect table output from Lua script, not %s", ret.Type().String())
	}
	// Argo CD encodes the table to JSON and decodes it into its HealthStatus: a status or
	// message that is not a string is an error there too.
	var hs struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	raw, err := tableJSON(tbl)
	if err != nil {
		return "", "", err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&hs); err != nil {
		return "", "", fmt.Errorf("the returned table is not a health status: %w", err)
	}
	if !healthCodes[hs.Status] {
		return "Unknown", invalidHealthStatus, nil
	}
	return hs.Status, hs.Message, nil
}

// toLua turns a decoded object into Lua values as Argo CD does: maps and lists become tables,
// numbers LNumber, JSON null nothing (so `obj.status.x == nil` for a null field).
func toLua(l *lua.LState, v interface{}) lua.LValue {
	switch x := v.(type) {
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case []interface{}:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]interface{}:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetH(lua.LString(k), toLua(l, item))
		}
		return t
	}
	return lua.LNil
}

// tableJSON encodes the string-keyed part of a returned table (what a health status has).
func tableJSON(t *lua.LTable) ([]byte, error) {
	m := map[string]interface{}{}
	var bad error
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			return
		}
		switch x := v.(type) {
		case lua.LString:
			m[string(ks)] = string(x)
		case lua.LNumber:
			m[string(ks)] = float64(x)
		case lua.LBool:
			m[string(ks)] = bool(x)
		case *lua.LTable:
			m[string(ks)] = map[string]interface{}{} // only its type matters to the decoder
		default:
			bad = fmt.Errorf("field %s: cannot encode a %s", ks, v.Type().String())
		}
	})
	if bad != nil {
		return nil, bad
	}
	return json.Marshal(m)
}
