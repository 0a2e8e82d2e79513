export { KB, betaOf, kTOf } from './constants'
export { etaOf, dtOf, sigmaKOf, etaOfSigmaK, kOfEta, etaOfK, reducedDt } from './conversions'
