// C++ standard library: iostream, strings, containers, algorithms.
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  std::sort(words.begin(), words.end());
  std::map<std::string, int> counts;
  for (const auto& w : words) counts[w]++;
  for (const auto& [w, n] : counts) std::cout << w << ":" << n << "\n";
  std::cerr << "to stderr" << std::endl;
  std::cout << "sorted " << words.size() << " words" << std::endl;
  return 0;
}
