#!/usr/bin/env python3
"""Import circles between the modules of each crate (issue: no module imports
a sibling that imports it back, directly or through others).

Reads `crate::` and `super::` paths per module file (test modules and comments
left out), lifts each reference to the two sibling modules under their lowest
common ancestor, and prints every strongly connected component of that graph.
Exit status 1 when there is one. Usage: tools/module_cycles.py [ROOT]"""
import os,re,sys,itertools
root=sys.argv[1] if len(sys.argv) > 1 else "."
crates=[]
for d,_,fs in os.walk(root):
    if 'target' in d or '.git' in d: continue
    if 'Cargo.toml' in fs and os.path.isdir(os.path.join(d,'src')): crates.append(os.path.join(d,'src'))
def modpath(src,f):
    rel=os.path.relpath(f,src)[:-3].split(os.sep)
    if rel[-1] in('mod','lib','main'): rel=rel[:-1]
    return rel
total=0
for src in crates:
    files=[]
    for d,_,fs in os.walk(src):
        for f in fs:
            if f.endswith('.rs'): files.append(os.path.join(d,f))
    mods={tuple(modpath(src,f)):f for f in files}
    # graph at each level: for each parent P, edges among children of P
    edges=set()
    for m,f in mods.items():
        txt=open(f).read()
        # strip test modules roughly: cut at '#[cfg(test)]\nmod tests'
        i=txt.find('#[cfg(test)]\nmod tests')
        if i>=0: txt=txt[:i]
        txt=re.sub(r'//[^\n]*','',txt)
        refs=set()
        for mm in re.finditer(r'\bcrate((?:::\w+)+)',txt):
            refs.add(tuple(mm.group(1).split('::')[1:]))
        for mm in re.finditer(r'\b((?:super::)+)(\w+(?:::\w+)*)',txt):
            n=mm.group(1).count('super::')
            base=list(m)
            # super in a mod.rs/lib means parent of module
            base=base[:len(base)-n]
            refs.add(tuple(base+mm.group(2).split('::')))
        # use crate::{a, b::c}
        for mm in re.finditer(r'use\s+crate::\{([^;]*)\};',txt,re.S):
            for part in re.split(r',',mm.group(1)):
                p=part.strip().split('::')[0].strip('{} \n')
                if p: refs.add((p,))
        for r in refs:
            # find longest module prefix of r
            target=None
            for k in range(len(r),0,-1):
                if tuple(r[:k]) in mods: target=tuple(r[:k]);break
            if target is None: continue
            # lowest common ancestor level
            a=m;b=target
            c=0
            while c<len(a) and c<len(b) and a[c]==b[c]: c+=1
            if c<len(a) and c<len(b):
                edges.add((a[:c+1],b[:c+1]))
    # find cycles via SCC
    nodes=set([e[0] for e in edges]+[e[1] for e in edges])
    adj={n:[] for n in nodes}
    for a,b in edges: adj[a].append(b)
    idx={};low={};st=[];on=set();sccs=[];cnt=[0]
    sys.setrecursionlimit(10000)
    def sc(v):
        idx[v]=low[v]=cnt[0];cnt[0]+=1;st.append(v);on.add(v)
        for w in adj[v]:
            if w not in idx: sc(w);low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],idx[w])
        if low[v]==idx[v]:
            comp=[]
            while True:
                w=st.pop();on.discard(w);comp.append(w)
                if w==v:break
            if len(comp)>1: sccs.append(comp)
    for n in nodes:
        if n not in idx: sc(n)
    for comp in sccs:
        total+=1
        print(src, ['::'.join(c) for c in comp])
        cs=set(comp)
        for a,b in sorted(edges):
            if a in cs and b in cs: print('   ','::'.join(a),'->','::'.join(b))
print('cycles:',total)
sys.exit(1 if total else 0)
