#include <iostream>
int main() { std::cout << "wva " << WVA_VERSION << "\n"; }
