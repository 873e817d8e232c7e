// The module is its header (one inline function); SwiftPM wants a source file in a C target.
#include "cspin.h"
