package router

import (
	"math"
	"strings"
)

// The index is built from pointer nodes (treeBuilder), then frozen into
// flat arrays (index) so that a lookup touches few cache lines: nodes in
// breadth-first order with each node's children side by side, their first
// bytes in a parallel array, edge labels in one string and ordinal lists
// in one slice.

// buildNode is a radix tree node during Compile. list holds the ordinals
// of the entries whose key ends at the node, ascending (entries are added
// in priority order).
type buildNode struct {
	label    string // the edge label from the parent
	first    []byte // first byte of each child's label, sorted
	children []*buildNode
	list     []int32
}

func (n *buildNode) insert(key string, ord int32) {
	for key != "" {
		i, found := searchByte(n.first, key[0])
		if !found {
			n.addChild(i, &buildNode{label: key, list: []int32{ord}})
			return
		}
		c := n.children[i]
		l := commonPrefix(key, c.label)
		if l < len(c.label) {
			// Split the edge: mid takes the common part, c keeps the rest.
			mid := &buildNode{label: c.label[:l], first: []byte{c.label[l]}, children: []*buildNode{c}}
			c.label = c.label[l:]
			n.children[i] = mid
			c = mid
		}
		key = key[l:]
		n = c
	}
	if k := len(n.list); k == 0 || n.list[k-1] != ord {
		n.list = append(n.list, ord)
	}
}

func (n *buildNode) addChild(i int, c *buildNode) {
	n.first = append(n.first, 0)
	copy(n.first[i+1:], n.first[i:])
	n.first[i] = c.label[0]
	n.children = append(n.children, nil)
	copy(n.children[i+1:], n.children[i:])
	n.children[i] = c
}

// searchByte returns the index of b in the sorted bytes, or where it
// would be inserted.
func searchByte(bytes []byte, b byte) (int, bool) {
	lo, hi := 0, len(bytes)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes[m] < b {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(bytes) && bytes[lo] == b
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// indexBuilder buckets the entries by host, each bucket a radix tree over
// path keys. An entry goes to every bucket of its hosts; entries without
// hosts (and those with an unusual wildcard that fits no bucket) go to
// anyHost.
type indexBuilder struct {
	exact   map[string]*buildNode // lower-case host
	suffix  map[string]*buildNode // ".example.com" for *.example.com
	prefix  map[string]*buildNode // "example." for example.*
	anyHost buildNode
}

func newIndexBuilder() *indexBuilder {
	return &indexBuilder{
		exact:  map[string]*buildNode{},
		suffix: map[string]*buildNode{},
		prefix: map[string]*buildNode{},
	}
}

func (x *indexBuilder) add(e *entry, ord int32) {
	if len(e.hosts) == 0 {
		insertAll(&x.anyHost, e.keys, ord)
	}
	for _, h := range e.hosts {
		switch {
		case h.kind == hostExact:
			insertAll(bucket(x.exact, h.value), e.keys, ord)
		case h.kind == hostSuffix && strings.HasPrefix(h.value, "."):
			insertAll(bucket(x.suffix, h.value), e.keys, ord)
		case h.kind == hostPrefix && strings.HasSuffix(h.value, "."):
			insertAll(bucket(x.prefix, h.value), e.keys, ord)
		default:
			insertAll(&x.anyHost, e.keys, ord)
		}
	}
}

func insertAll(root *buildNode, keys []string, ord int32) {
	for _, k := range keys {
		root.insert(k, ord)
	}
}

func bucket(m map[string]*buildNode, key string) *buildNode {
	t := m[key]
	if t == nil {
		t = &buildNode{}
		m[key] = t
	}
	return t
}

// node is a frozen tree node: its label is labels[labelOff:labelOff+
// labelLen], its children are nodes[children:children+nChildren] (their
// first bytes first[children:...]), its ordinals lists[listOff:listOff+
// listLen].
type node struct {
	labelOff, labelLen  uint32
	children, nChildren uint32
	listOff, listLen    uint32
}

// index is the frozen indexBuilder. Bucket maps hold root node numbers.
type index struct {
	nodes   []node
	first   []byte
	labels  string
	lists   []int32
	exact   map[string]uint32
	suffix  map[string]uint32
	prefix  map[string]uint32
	anyHost uint32
}

func (x *indexBuilder) freeze() *index {
	f := &index{}
	var labels []byte
	freezeTree := func(root *buildNode) uint32 {
		type item struct {
			src *buildNode
			dst int
		}
		rootIdx := len(f.nodes)
		f.nodes = append(f.nodes, node{})
		f.first = append(f.first, 0)
		queue := []item{{root, rootIdx}}
		for len(queue) > 0 {
			it := queue[0]
			queue = queue[1:]
			n := node{
				labelOff: u32(len(labels)), labelLen: u32(len(it.src.label)),
				children: u32(len(f.nodes)), nChildren: u32(len(it.src.children)),
				listOff: u32(len(f.lists)), listLen: u32(len(it.src.list)),
			}
			labels = append(labels, it.src.label...)
			f.lists = append(f.lists, it.src.list...)
			for i, c := range it.src.children {
				queue = append(queue, item{c, len(f.nodes)})
				f.nodes = append(f.nodes, node{})
				f.first = append(f.first, it.src.first[i])
			}
			f.nodes[it.dst] = n
		}
		return u32(rootIdx)
	}
	freezeMap := func(m map[string]*buildNode) map[string]uint32 {
		out := make(map[string]uint32, len(m))
		for k, root := range m {
			out[k] = freezeTree(root)
		}
		return out
	}
	f.anyHost = freezeTree(&x.anyHost)
	f.exact = freezeMap(x.exact)
	f.suffix = freezeMap(x.suffix)
	f.prefix = freezeMap(x.prefix)
	f.labels = string(labels)
	return f
}

// u32 converts a length or offset of the frozen arrays. Their sizes grow
// with the routes' total size, far below 2^32; a larger configuration
// would be refused at the control plane long before.
func u32(n int) uint32 {
	if n < 0 || n > math.MaxUint32 {
		panic("router: index larger than 2^32")
	}
	return uint32(n)
}

// collectTree appends the lists of the nodes of the tree at root whose
// keys are prefixes of path: the ordinals of every entry that path could
// match.
func (f *index) collectTree(root uint32, path string, out [][]int32) [][]int32 {
	n := &f.nodes[root]
	for {
		if n.listLen > 0 {
			out = append(out, f.lists[n.listOff:n.listOff+n.listLen:n.listOff+n.listLen])
		}
		if path == "" || n.nChildren == 0 {
			return out
		}
		i, found := searchByte(f.first[n.children:n.children+n.nChildren], path[0])
		if !found {
			return out
		}
		c := &f.nodes[int(n.children)+i]
		label := f.labels[c.labelOff : c.labelOff+c.labelLen]
		if !strings.HasPrefix(path, label) {
			return out
		}
		path = path[len(label):]
		n = c
	}
}

// maxHost is the longest host name looked up without allocating (a DNS
// name has at most 253 bytes).
const maxHost = 256

// collect appends the candidate lists for a request host (without port,
// any case) and normalized path.
func (f *index) collect(host, path string, out [][]int32) [][]int32 {
	out = f.collectTree(f.anyHost, path, out)
	if host == "" || len(f.exact)+len(f.suffix)+len(f.prefix) == 0 {
		return out
	}
	var buf [maxHost]byte
	var lower []byte
	if len(host) <= maxHost {
		lower = buf[:len(host)]
	} else {
		lower = make([]byte, len(host))
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if isUpper(c) {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return f.collectHost(lower, path, out)
}

// collectHost appends the candidates of the host buckets for a lower-case
// host. Indexing a map with string(bytes) does not allocate.
func (f *index) collectHost(lower []byte, path string, out [][]int32) [][]int32 {
	if root, ok := f.exact[string(lower)]; ok {
		out = f.collectTree(root, path, out)
	}
	if len(f.suffix) == 0 && len(f.prefix) == 0 {
		return out
	}
	for i, c := range lower {
		if c != '.' {
			continue
		}
		if len(f.suffix) > 0 {
			if root, ok := f.suffix[string(lower[i:])]; ok {
				out = f.collectTree(root, path, out)
			}
		}
		if len(f.prefix) > 0 {
			if root, ok := f.prefix[string(lower[:i+1])]; ok {
				out = f.collectTree(root, path, out)
			}
		}
	}
	return out
}
