#!/usr/bin/env python3
"""Independent φ/ψ of the ala2 and ala3 examples, for tests/unit/analysis/peptide-dihedrals.test.ts.

Reads the first 100 models of each snapshot file with its own fixed-column PDB parsing, finds the
backbone atoms by residue and atom name (C of residue i-1, N, CA, C of i, N of i+1), and computes
the dihedrals with numpy in the IUPAC convention (arctan2 form, as MDTraj's compute_dihedrals).
MDTraj was not installable on the machine that wrote the JSON (no network), so this is the
"hand geometry" alternative. Run from the repository root:
    python3 tests/unit/analysis/phipsi_reference.py > tests/unit/analysis/phipsi_reference.json
"""
import gzip, json
import numpy as np

def models(path, n):
    out, cur, names = [], [], []
    with gzip.open(path, 'rt') as f:
        for line in f:
            if line.startswith(('ATOM', 'HETATM')):
                cur.append([float(line[30:38]), float(line[38:46]), float(line[46:54])])
                if not out:
                    names.append((int(line[22:26]), line[17:20].strip(), line[12:16].strip()))
            elif line.startswith('ENDMDL'):
                out.append(cur); cur = []
                if len(out) == n:
                    break
    return names, np.array(out)

def dihedral(x, i, j, k, l):
    # MDTraj's _dihedral: arctan2((b1 · (b2 × b3))·|b2|, (b2 × b3) · (b1 × b2))
    b1, b2, b3 = x[:, j] - x[:, i], x[:, k] - x[:, j], x[:, l] - x[:, k]
    c1, c2 = np.cross(b2, b3), np.cross(b1, b2)
    p1 = (b1 * c1).sum(1) * np.linalg.norm(b2, axis=1)
    return np.degrees(np.arctan2(p1, (c1 * c2).sum(1)))

result = {}
for key, path in [('ala2', 'resources/examples/ala2/ala2_snapshots_all.pdb.gz'), ('ala3', 'resources/examples/ala3/ala3_snapshots_all.pdb.gz')]:
    names, x = models(path, 100)
    idx = {(r, a): i for i, (r, _, a) in enumerate(names)}
    resname = {r: n for r, n, _ in names}
    res = sorted(resname)
    entry = []
    for r in res:
        if (r, 'CA') not in idx or (r - 1, 'C') not in idx or (r + 1, 'N') not in idx:
            continue
        phi = (idx[(r - 1, 'C')], idx[(r, 'N')], idx[(r, 'CA')], idx[(r, 'C')])
        psi = (idx[(r, 'N')], idx[(r, 'CA')], idx[(r, 'C')], idx[(r + 1, 'N')])
        entry.append({'residue': f'{resname[r]}{r}', 'phi_atoms': phi, 'psi_atoms': psi,
                      'phi_deg': [round(v, 4) for v in dihedral(x, *phi)], 'psi_deg': [round(v, 4) for v in dihedral(x, *psi)]})
    result[key] = {'file': path, 'frames': int(x.shape[0]), 'residues': entry}
print(json.dumps(result))
