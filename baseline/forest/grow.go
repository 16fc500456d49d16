package forest

import (
	"math/rand/v2"
)

// grower grows trees on one binned matrix; each worker owns one and
// reuses its buffers from tree to tree.
type grower struct {
	d   *binned
	y   []float64
	cfg config

	ws    []wsum   // bootstrap weight and weight·y of each row
	cnt   []int32  // bootstrap count of each row
	m     int      // distinct in-bag rows of the current tree
	idx   []uint32 // idx[j*m:(j+1)*m]: in-bag entries of feature j sorted by code, partitioned by node
	tmp   []uint32 // partition buffer
	left  []int32  // left[row] = 1 if row goes to the left child of the node being split
	feats []int    // feature pool for drawing without replacement
	nodes []node
	rng   *rand.Rand
}

// wsum is a row's bootstrap weight w and w·y, side by side.
type wsum struct{ w, wy float64 }

func newGrower(d *binned, y []float64, cfg config) *grower {
	return &grower{d: d, y: y, cfg: cfg,
		ws: make([]wsum, d.n), cnt: make([]int32, d.n),
		idx: make([]uint32, d.n*d.p+1), tmp: make([]uint32, d.n), left: make([]int32, d.n),
		feats: make([]int, d.p)}
}

// grow grows one tree with the generator rng and returns its nodes.
func (g *grower) grow(rng *rand.Rand) []node {
	d := g.d
	g.rng = rng
	clear(g.cnt)
	if g.cfg.bootstrap {
		for range d.n {
			g.cnt[rng.IntN(d.n)]++
		}
	} else {
		for i := range g.cnt {
			g.cnt[i] = 1
		}
	}
	m := 0
	for i, c := range g.cnt {
		g.ws[i] = wsum{float64(c), float64(c) * g.y[i]}
		if c > 0 {
			m++
		}
	}
	g.m = m
	// In-bag rows of each feature, in code order: filter the presorted
	// entries, branch-free (an entry past the end of feature j's list lands
	// on feature j+1's first slot, rewritten next, or on the spare slot).
	in := g.left // reused as the in-bag indicator
	for i, c := range g.cnt {
		in[i] = min(c, 1)
	}
	for j := range d.p {
		dst := g.idx[j*m : (j+1)*m+1]
		k := 0
		for _, e := range d.order[j*d.n : (j+1)*d.n] {
			dst[k] = e
			k += int(in[e&rowMask])
		}
	}
	for j := range g.feats {
		g.feats[j] = j
	}
	g.nodes = make([]node, 0, 2*m)
	g.split(0, m, 0, 0)
	return g.nodes
}

// split grows the subtree of the rows at positions [lo, hi) of the
// features' lists and returns its root's index. The rows are read from
// feature from's list, which is always partitioned down to this node; the
// other lists are too unless the node needs none (canSplit).
func (g *grower) split(lo, hi, depth, from int) int32 {
	me := int32(len(g.nodes))
	g.nodes = append(g.nodes, node{feature: -1})
	rows := g.idx[from*g.m+lo : from*g.m+hi]
	var tw, ts float64
	ymin, ymax := g.y[rows[0]&rowMask], g.y[rows[0]&rowMask]
	for _, e := range rows {
		r := e & rowMask
		tw += g.ws[r].w
		ts += g.ws[r].wy
		ymin = min(ymin, g.y[r])
		ymax = max(ymax, g.y[r])
	}
	g.nodes[me].value = ts / tw
	c := hi - lo
	if !g.canSplit(c, depth) || ymin == ymax {
		return me
	}
	if c == 2 {
		g.splitPair(me, rows[0]&rowMask, rows[1]&rowMask)
		return me
	}
	bf, bpos, bthr, ok := g.bestSplit(lo, hi, tw, ts)
	if !ok {
		return me
	}
	m := g.m
	for k, e := range g.idx[bf*m+lo : bf*m+hi] {
		if k <= bpos {
			g.left[e&rowMask] = 1
		} else {
			g.left[e&rowMask] = 0
		}
	}
	nl := bpos + 1
	// Children of at most two rows need no lists: their rows come from
	// bf's list, and a pair is split from the code table (splitPair).
	if g.needsLists(nl, depth+1) || g.needsLists(c-nl, depth+1) {
		for j := range g.d.p {
			seg := g.idx[j*m+lo : j*m+hi]
			// A feature constant in the node is constant in every
			// descendant, so it is never scanned below and its list
			// needs no partition.
			if j != bf && seg[0]>>codeShift != seg[c-1]>>codeShift {
				g.partition(seg)
			}
		}
	}
	g.nodes[me].feature = int32(bf)
	g.nodes[me].threshold = bthr
	l := g.split(lo, lo+nl, depth+1, bf)
	r := g.split(lo+nl, hi, depth+1, bf)
	g.nodes[me].left, g.nodes[me].right = l, r
	return me
}

// canSplit reports whether a node of c rows at depth may split.
func (g *grower) canSplit(c, depth int) bool {
	cfg := &g.cfg
	return c >= cfg.minSplit && c >= 2*cfg.minLeaf && (cfg.maxDepth == 0 || depth < cfg.maxDepth)
}

// needsLists reports whether a node of c rows at depth needs its features'
// sorted lists: it may split and has more than two rows.
func (g *grower) needsLists(c, depth int) bool {
	return c > 2 && g.canSplit(c, depth)
}

// splitPair splits node me of the two rows a and b (with different y):
// every feature that separates them gives the same gain, so the first
// such feature drawn wins, as in bestSplit; the node stays a leaf if no
// feature separates them.
func (g *grower) splitPair(me int32, a, b uint32) {
	d, p := g.d, g.d.p
	rotate := g.cfg.mtry >= p
	start := 0
	if rotate {
		start = g.rng.IntN(p)
	}
	for drawn := range p {
		var j int
		if rotate {
			j = start + drawn
			if j >= p {
				j -= p
			}
		} else {
			k := drawn + g.rng.IntN(p-drawn)
			g.feats[drawn], g.feats[k] = g.feats[k], g.feats[drawn]
			j = g.feats[drawn]
		}
		ca, cb := d.codes[j*d.n+int(a)], d.codes[j*d.n+int(b)]
		if ca == cb {
			continue
		}
		lo, hi := int(min(ca, cb)), int(max(ca, cb))
		g.nodes[me].feature = int32(j)
		g.nodes[me].threshold = d.edges[j][lo+(hi-1-lo)/2]
		la, lb := g.leaf(a), g.leaf(b)
		if ca > cb {
			la, lb = lb, la
		}
		g.nodes[me].left, g.nodes[me].right = la, lb
		return
	}
}

// leaf appends a leaf of the single row r.
func (g *grower) leaf(r uint32) int32 {
	g.nodes = append(g.nodes, node{feature: -1, value: g.y[r]})
	return int32(len(g.nodes) - 1)
}

// partition reorders s stably so rows marked left come first. It is
// branch-free: a left/right choice is a coin flip the predictor can't learn.
func (g *grower) partition(s []uint32) {
	left, tmp := g.left, g.tmp
	l, r := 0, 0
	for _, e := range s {
		b := int(left[e&rowMask])
		s[l] = e
		tmp[r] = e
		l += b
		r += 1 - b
	}
	copy(s[l:], tmp[:r])
}

// bestSplit scans features in random order until cfg.mtry features not
// constant in the node have been scanned (or none is left) and returns the
// best split: the feature, the last left position in its list, and the
// threshold. With mtry = p the order is a rotation from a random start
// (one draw per node, so ties between features still go to a random one);
// otherwise features are drawn without replacement.
func (g *grower) bestSplit(lo, hi int, tw, ts float64) (feat, pos int, thr float64, ok bool) {
	d, m, p := g.d, g.m, g.d.p
	_ = d
	minLeaf := g.cfg.minLeaf
	c := hi - lo
	last := c - minLeaf // positions k < last leave ≥ minLeaf rows on the right
	first := minLeaf - 1
	// The proxy of a split is sl²/wl + sr²/wr; comparing it with the best
	// as num > best·den (num = sl²·wr + sr²·wl, den = wl·wr) avoids two
	// divisions per position. best starts below any proxy (≥ 0), so the best
	// valid split is taken even with no gain, as sklearn does.
	best := -1.0
	rotate := g.cfg.mtry >= p
	start := 0
	if rotate {
		start = g.rng.IntN(p)
	}
	visited := 0
	for drawn := 0; drawn < p && visited < g.cfg.mtry; drawn++ {
		var j int
		if rotate {
			j = start + drawn
			if j >= p {
				j -= p
			}
		} else {
			k := drawn + g.rng.IntN(p-drawn)
			g.feats[drawn], g.feats[k] = g.feats[k], g.feats[drawn]
			j = g.feats[drawn]
		}
		seg := g.idx[j*m+lo : j*m+hi]
		if seg[0]>>codeShift == seg[c-1]>>codeShift {
			continue // constant in this node: does not count
		}
		visited++
		var bk int
		bk, best = scan(seg[:last+1], g.ws, tw, ts, best, first)
		if bk >= 0 {
			feat, pos, ok = j, bk, true
			// Threshold between the two codes present, in the middle of
			// any empty bins between them.
			lc, rc := int(seg[bk]>>codeShift), int(seg[bk+1]>>codeShift)
			thr = d.edges[j][lc+(rc-1-lc)/2]
		}
	}
	return feat, pos, thr, ok
}

// scan returns the best split position k in first..len(seg)−2 of a node's
// entries sorted by code, where positions ≤ k go left: the largest proxy
// sl²/wl + sr²/wr above best among positions between two different codes.
// It returns k = −1 and best unchanged if none beats best. It is the
// forest's hot loop, kept small so its variables stay in registers.
func scan(seg []uint32, ws []wsum, tw, ts, best float64, first int) (int, float64) {
	bk := -1
	var wl, sl float64
	cur := seg[:len(seg)-1]
	next := seg[1:]
	next = next[:len(cur)]
	for k, e := range cur {
		w := ws[e&rowMask]
		wl += w.w
		sl += w.wy
		wr, sr := tw-wl, ts-sl
		num := sl*sl*wr + sr*sr*wl
		den := wl * wr
		if num > best*den && next[k]>>codeShift != e>>codeShift && k >= first {
			best, bk = num/den, k
		}
	}
	return bk, best
}
