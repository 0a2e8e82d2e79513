export { philox4x32 } from './philox'
export { fillNormals, NormalStream } from './normals'
