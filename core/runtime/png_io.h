#pragma once
// placeholder, implemented in the engine-foundation work
