#!/usr/bin/env bash
# Regenerates example snapshot data like resources/examples/ala2 with GROMACS (Debian's `gromacs`):
# pdb2gmx (amber99sb-ildn, no water) → steepest-descent minimisation → Brownian dynamics
# (integrator = bd) in vacuum, several replicas → snapshots every STRIDE ps after a burn-in,
# pooled, shuffled with a fixed seed, superposed on the heavy atoms of the minimised structure
# → OUT/snapshots_all.pdb.gz (multi-model PDB, Å) and OUT/reference.pdb.
#
# usage: scripts/make-example-dataset.sh INPUT.pdb [options]
#   -o DIR      output folder                       (default ./example-dataset)
#   -T KELVIN   temperature                         (default 300)
#   -L NS       length of each replica in ns        (default 70)
#   -r N        replicas                            (default 3)
#   -s PS       snapshot stride in ps               (default 20)
#   -b PS       burn-in discarded per replica in ps (default 1000)
#   -f AMU_PS   BD friction per atom, amu/ps        (default 5000 → D = kT/γ ≈ 0.05 Å²/ps at 300 K)
#   -S SEED     seed of replica 1 and of the shuffle (default 20240601)
# INPUT.pdb: one molecule with residue/atom names pdb2gmx knows (hydrogens are rebuilt: -ignh).
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

[[ $# -ge 1 && "$1" != -h && "$1" != --help ]] || usage 0
INPUT=$(readlink -f "$1"); shift
OUT=./example-dataset; TEMP=300; LEN_NS=70; REPLICAS=3; STRIDE_PS=20; BURN_PS=1000; FRIC=5000; SEED=20240601
while getopts "o:T:L:r:s:b:f:S:" opt; do
  case $opt in
    o) OUT=$OPTARG ;; T) TEMP=$OPTARG ;; L) LEN_NS=$OPTARG ;; r) REPLICAS=$OPTARG ;;
    s) STRIDE_PS=$OPTARG ;; b) BURN_PS=$OPTARG ;; f) FRIC=$OPTARG ;; S) SEED=$OPTARG ;;
    *) usage ;;
  esac
done
[[ -f "$INPUT" ]] || { echo "make-example-dataset: $INPUT: no such file" >&2; exit 2; }

GMX=$(command -v gmx || command -v gmx_d || true)
if [[ -z "$GMX" ]]; then
  echo "make-example-dataset: GROMACS (gmx) is not installed. On Debian/Ubuntu: sudo apt-get install gromacs" >&2
  exit 3
fi

explain_rdtscp() {
  cat >&2 <<'EOF'
make-example-dataset: this machine cannot run GROMACS mdrun. Debian's gromacs package is compiled
to use the rdtscp CPU instruction for timing, and mdrun refuses to start when the CPU does not
advertise it (common on virtual machines whose hypervisor hides the flag; check with
`grep -c rdtscp /proc/cpuinfo`). Run this script on ordinary hardware or a VM that passes the
flag through, or build GROMACS from source with -DGMX_USE_RDTSCP=OFF. Nothing was simulated.
EOF
  exit 4
}
if [[ -r /proc/cpuinfo ]] && ! grep -qw rdtscp /proc/cpuinfo; then explain_rdtscp; fi

mkdir -p "$OUT"; OUT=$(readlink -f "$OUT")
WORK="$OUT/work"; mkdir -p "$WORK"; cd "$WORK"
LOG="$WORK/gromacs.log"; : > "$LOG"
run() {  # run a gmx step quietly; on failure show the end of its output (or the rdtscp paragraph)
  if ! "$@" >>"$LOG" 2>&1; then
    if grep -q "rdtscp" "$LOG"; then explain_rdtscp; fi
    echo "make-example-dataset: '$*' failed; the last lines of $LOG:" >&2; tail -n 25 "$LOG" >&2; exit 5
  fi
}

echo "== topology (amber99sb-ildn, no water) and a 7 nm vacuum box"
run "$GMX" pdb2gmx -f "$INPUT" -o conf.gro -p topol.top -ff amber99sb-ildn -water none -ignh
run "$GMX" editconf -f conf.gro -o box.gro -bt cubic -box 7 -c

cat > em.mdp <<EOF
integrator = steep
emtol = 10
nsteps = 50000
cutoff-scheme = Verlet
pbc = xyz
verlet-buffer-tolerance = -1
rlist = 2.1
coulombtype = Cut-off
epsilon-rf = 1
rcoulomb = 2.0
vdwtype = Cut-off
rvdw = 2.0
EOF
echo "== minimisation"
run "$GMX" grompp -f em.mdp -c box.gro -p topol.top -o em.tpr -maxwarn 1
run "$GMX" mdrun -deffnm em -nt 1

NSTEPS=$(awk -v l="$LEN_NS" 'BEGIN { printf "%d", l * 1000 / 0.002 }')
for r in $(seq 1 "$REPLICAS"); do
  sed -e "s/@TEMP@/$TEMP/" -e "s/@NSTEPS@/$NSTEPS/" -e "s/@FRIC@/$FRIC/" -e "s/@SEED@/$((SEED + r - 1))/" > "bd$r.mdp" <<'EOF'
integrator = bd
dt = 0.002
nsteps = @NSTEPS@
bd-fric = @FRIC@
ld-seed = @SEED@
tc-grps = System
tau-t = 1.0
ref-t = @TEMP@
gen-vel = no
comm-mode = None
nstxout-compressed = 500
compressed-x-precision = 10000
nstcalcenergy = 500
nstenergy = 500
nstlog = 500000
cutoff-scheme = Verlet
pbc = xyz
nstlist = 10
verlet-buffer-tolerance = -1
rlist = 2.1
coulombtype = Cut-off
epsilon-rf = 1
rcoulomb = 2.0
vdwtype = Cut-off
vdw-modifier = Potential-shift
rvdw = 2.0
constraints = none
EOF
  echo "== BD replica $r of $REPLICAS ($LEN_NS ns at $TEMP K)"
  run "$GMX" grompp -f "bd$r.mdp" -c em.gro -p topol.top -o "bd$r.tpr" -maxwarn 1
  run "$GMX" mdrun -deffnm "bd$r" -nt 1
  # heavy-atom fit (Protein-H) of all atoms on the minimised structure, every STRIDE ps after burn-in
  echo "Protein-H System" | run "$GMX" trjconv -s em.tpr -f "bd$r.xtc" -o "rep$r.pdb" -fit rot+trans -b "$BURN_PS" -dt "$STRIDE_PS"
done
echo "Protein-H System" | run "$GMX" trjconv -s em.tpr -f em.gro -o "$OUT/reference.pdb" -fit rot+trans

echo "== pooling and shuffling (seed $SEED)"
# one model per line (fields joined by \x01), shuffled reproducibly, renumbered
cat rep*.pdb | awk 'BEGIN { ORS = "" }
  /^MODEL/ { inm = 1; buf = ""; next }
  /^ENDMDL/ { if (inm) print buf "\n"; inm = 0; next }
  inm && /^(ATOM|HETATM|TER)/ { buf = buf $0 "\001" }' > models.txt
shuf --random-source=<(openssl enc -aes-256-ctr -pass pass:"$SEED" -nosalt </dev/zero 2>/dev/null) models.txt > shuffled.txt
{
  echo "REMARK   1 $(basename "$INPUT"): GROMACS bd, $TEMP K, vacuum, amber99sb-ildn; $REPLICAS replicas x $LEN_NS ns,"
  echo "REMARK   1 every $STRIDE_PS ps after $BURN_PS ps burn-in, shuffled (seed $SEED), heavy-atom fit; Angstrom"
  awk '{ printf "MODEL     %4d\n", NR; n = split($0, l, "\001"); for (i = 1; i < n; i++) print l[i]; print "ENDMDL" } END { print "END" }' shuffled.txt
} | gzip -9 > "$OUT/snapshots_all.pdb.gz"
echo "wrote $OUT/snapshots_all.pdb.gz ($(wc -l < shuffled.txt) frames) and $OUT/reference.pdb"
echo "import: diffmd dataset import $OUT/snapshots_all.pdb.gz --project PROJECT"
