export { centroid, kabsch, superpose, Aligner, KabschScratch } from './kabsch'
export { RigidBodyProjector } from './rigid-body'
export { distance, angle, dihedral, rmsd, radiusOfGyration } from './internal'
export { jacobiEigen } from './jacobi'
