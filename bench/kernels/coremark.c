// CoreMark-like mixed integer work: linked-list operations, small matrix arithmetic,
// a state machine over input bytes, and CRC-16, in one loop.
#include "kernel.h"
typedef struct Node {
  struct Node* next;
  int16_t data;
  int16_t idx;
} Node;
#define LIST 400
#define MAT 16
static Node nodes[LIST];
static int16_t ma[MAT * MAT], mb[MAT * MAT];
static int32_t mc[MAT * MAT];
static uint8_t input[512];

static uint16_t crc16(uint16_t crc, uint8_t data) {
  for (int i = 0; i < 8; ++i) {
    uint8_t x = (uint8_t)((data & 1) ^ (crc & 1));
    data >>= 1;
    crc = x ? (uint16_t)((crc ^ 0x4002) >> 1 | 0x8000) : (uint16_t)(crc >> 1);
  }
  return crc;
}

static Node* reverse(Node* l) {
  Node* prev = 0;
  while (l) {
    Node* n = l->next;
    l->next = prev;
    prev = l;
    l = n;
  }
  return prev;
}

static int state_machine(const uint8_t* s, int n) {
  int state = 0, transitions = 0;
  for (int i = 0; i < n; ++i) {
    uint8_t c = s[i];
    int next = state;
    switch (state) {
      case 0:
        next = (c >= '0' && c <= '9') ? 1 : (c == '-' ? 2 : 0);
        break;
      case 1:
        next = (c == '.') ? 3 : (c >= '0' && c <= '9') ? 1 : 4;
        break;
      case 2:
        next = (c >= '0' && c <= '9') ? 1 : 4;
        break;
      case 3:
        next = (c >= '0' && c <= '9') ? 3 : (c == 'e' ? 5 : 0);
        break;
      case 4:
        next = (c == ',') ? 0 : 4;
        break;
      default:
        next = (c >= '0' && c <= '9') ? 3 : 4;
        break;
    }
    transitions += next != state;
    state = next;
  }
  return transitions;
}

EXPORT uint32_t run(uint32_t iterations) {
  uint32_t s = 0x66;
  for (int i = 0; i < LIST; ++i) {
    nodes[i].data = (int16_t)(rng_next(&s) & 0x7FFF);
    nodes[i].idx = (int16_t)i;
    nodes[i].next = i + 1 < LIST ? &nodes[i + 1] : 0;
  }
  for (int i = 0; i < MAT * MAT; ++i) {
    ma[i] = (int16_t)(rng_next(&s) & 0xFF);
    mb[i] = (int16_t)(rng_next(&s) & 0xFF);
  }
  for (int i = 0; i < 512; ++i) input[i] = (uint8_t)"0123456789.-e,x"[rng_next(&s) % 15];
  Node* list = &nodes[0];
  uint16_t crc = 0;
  for (uint32_t it = 0; it < iterations; ++it) {
    list = reverse(list);
    int32_t found = 0;
    for (Node* n = list; n; n = n->next)
      if ((n->data & 0xFF) == (int)(it & 0xFF)) found += n->idx;
    for (int i = 0; i < MAT; ++i)
      for (int j = 0; j < MAT; ++j) {
        int32_t acc = 0;
        for (int k = 0; k < MAT; ++k) acc += ma[i * MAT + k] * mb[k * MAT + j];
        mc[i * MAT + j] = acc;
      }
    int t = state_machine(input, 512);
    crc = crc16(crc, (uint8_t)found);
    crc = crc16(crc, (uint8_t)(mc[it % (MAT * MAT)] >> 3));
    crc = crc16(crc, (uint8_t)t);
    ma[it % (MAT * MAT)] ^= (int16_t)crc;
  }
  return crc;
}
