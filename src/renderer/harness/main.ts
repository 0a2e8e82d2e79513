// Component harness (tests/e2e/components, bench/ui.bench.ts): not part of the app build; built by
// tests/e2e/components/build-harness.mjs into out/renderer/harness/ and served by browser mode.
import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ComponentHarness from './ComponentHarness.vue'
import '../src/styles/base.css'

// the viewer keeps its player settings and picked observables in a Pinia store
createApp(ComponentHarness).use(createPinia()).mount('#app')
